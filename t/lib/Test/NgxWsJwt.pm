package Test::NgxWsJwt;

# Test tokens for the JWT tests: keys made with the openssl CLI at test
# time, tokens signed with Perl's Digest::SHA (HS*) or the openssl CLI
# (RS*, ES*, EdDSA). Nothing here verifies: that is the server's job.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256 hmac_sha384 hmac_sha512);
use File::Temp qw(tempfile);
use MIME::Base64 qw(encode_base64);
use Exporter 'import';

our @EXPORT = qw(b64url make_keys jwt_token json_obj);

sub b64url {
    my ($data) = @_;
    my $s = encode_base64($data, '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

# A JSON object from a flat list of pairs; values that are array refs
# become arrays of strings, numbers stay numbers, strings are quoted.
sub json_obj {
    my @pairs = @_;
    my @out;
    while (@pairs) {
        my ($k, $v) = splice @pairs, 0, 2;
        push @out, "\"$k\":" . json_value($v);
    }
    return '{' . join(',', @out) . '}';
}

sub json_value {
    my ($v) = @_;
    return 'null' unless defined $v;
    return '[' . join(',', map { json_value($_) } @$v) . ']' if ref $v eq 'ARRAY';
    return $$v if ref $v eq 'SCALAR';      # raw JSON
    return $v if $v =~ /^-?\d+(\.\d+)?(e\d+)?$/;
    $v =~ s/(["\\])/\\$1/g;
    return "\"$v\"";
}

sub run_openssl {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    die "openssl failed: $cmd\n$out" if $?;
    return $out;
}

# Writes the keys of every algorithm into $dir; returns a hash of paths.
sub make_keys {
    my ($dir) = @_;
    my %k;
    for my $alg (qw(HS256 HS384 HS512)) {
        my $len = { HS256 => 32, HS384 => 48, HS512 => 64 }->{$alg};
        my $secret = join '', map { chr(65 + ($_ * 7) % 26) } 1 .. $len;
        open my $fh, '>', "$dir/$alg.secret" or die $!;
        print $fh "$secret\n";
        close $fh;
        $k{$alg} = { secret => $secret, public => "$dir/$alg.secret" };
    }
    $k{short} = "$dir/short.secret";
    open my $fh, '>', $k{short} or die $!;
    print $fh "too-short\n";
    close $fh;

    my %gen = (
        RSA    => 'genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048',
        RSA1k  => 'genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024',
        P256   => 'genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256',
        P384   => 'genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384',
        P521   => 'genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521',
        P521b  => 'genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521',
        Ed25519 => 'genpkey -algorithm ED25519',
    );
    for my $name (keys %gen) {
        my $key = "$dir/$name.key";
        unless (-f $key) {
            run_openssl("openssl $gen{$name} -out '$key'");
            run_openssl("openssl pkey -in '$key' -pubout -out '$dir/$name.pub'");
        }
        $k{$name} = { private => $key, public => "$dir/$name.pub" };
    }
    $k{RSA2} = { private => "$dir/RSA2.key", public => "$dir/RSA2.pub" };
    unless (-f "$dir/RSA2.key") {
        run_openssl("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out '$dir/RSA2.key'");
        run_openssl("openssl pkey -in '$dir/RSA2.key' -pubout -out '$dir/RSA2.pub'");
    }
    return \%k;
}

# DER ECDSA signature to the JOSE form: r and s, each $n bytes.
sub der_to_raw {
    my ($der, $n) = @_;
    my @b = unpack 'C*', $der;
    my $i = 2;
    $i++ if $b[1] & 0x80;   # long length form (P-521 only)
    my @parts;
    for (1 .. 2) {
        die "bad DER" unless $b[$i] == 0x02;
        my $len = $b[$i + 1];
        my $v = pack 'C*', @b[$i + 2 .. $i + 1 + $len];
        $v =~ s/^\x00+//;
        my $pad = $n - length $v;
        push @parts, ("\x00" x ($pad > 0 ? $pad : 0)) . $v;
        $i += 2 + $len;
    }
    return join '', @parts;
}

# jwt_token(alg => 'HS256', key => $keys->{HS256}, claims => '{...}',
#           header => '{...}' (default {"alg":..,"typ":"JWT"}),
#           sign_as => 'RS256' (sign with another algorithm's method))
sub jwt_token {
    my (%a) = @_;
    my $alg = $a{alg};
    my $header = $a{header} // json_obj(alg => $alg, typ => 'JWT');
    my $input = b64url($header) . '.' . b64url($a{claims});
    my $method = $a{sign_as} // $alg;
    my $sig = '';
    if ($method =~ /^HS(\d+)$/) {
        my $secret = $a{secret} // $a{key}{secret};
        my $f = { 256 => \&hmac_sha256, 384 => \&hmac_sha384, 512 => \&hmac_sha512 }->{$1};
        $sig = $f->($input, $secret);
    } elsif ($method =~ /^(RS|ES)(\d+)$/) {
        my ($kind, $bits) = ($1, $2);
        my ($fh, $tmp) = tempfile(UNLINK => 1);
        binmode $fh;
        print $fh $input;
        close $fh;
        $sig = `openssl dgst -sha$bits -sign '$a{key}{private}' '$tmp'`;
        die "openssl dgst failed" if $?;
        $sig = der_to_raw($sig, $bits == 256 ? 32 : $bits == 384 ? 48 : 66)
            if $kind eq 'ES';
    } elsif ($method eq 'EdDSA') {
        my ($fh, $tmp) = tempfile(UNLINK => 1);
        binmode $fh;
        print $fh $input;
        close $fh;
        $sig = `openssl pkeyutl -sign -rawin -inkey '$a{key}{private}' -in '$tmp'`;
        die "openssl pkeyutl failed" if $?;
    } elsif ($method eq 'none') {
        $sig = '';
    }
    return "$input." . b64url($sig);
}

1;
