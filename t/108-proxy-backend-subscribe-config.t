# ws_backend_subscribe where ws_proxy_pass relays the messages: only the
# JSON protocol's subscribe op calls that hook, and the JSON protocol is
# refused there, so `nginx -t` refuses the hook too, naming the directive
# and the line it was written on (also when a proxy location inherits it
# from its server). "off", and the hook in a JSON location, stay accepted.
use Test::NgxWs;
use Test::More;

my $proxy = 'ws_listen; ws_proxy_pass ws://127.0.0.1:9001;';
my $internal = 'location = /internal/sub { internal; return 204; }';

# nginx -t of a configuration: (exit code, output, the line of the file
# that holds "ws_backend_subscribe /", or 0)
sub nginx_t {
    my (%args) = @_;
    my ($rc, $out) = nginx_check_config(dir => '108-proxy-backend-subscribe',
                                        extra => $internal, %args);
    my $conf = repo_root()
        . '/t/servroot/108-proxy-backend-subscribe/conf/nginx.conf';
    my $line = 0;
    open my $fh, '<', $conf or die "$conf: $!";
    while (<$fh>) {
        if (m{ws_backend_subscribe /}) { $line = $.; last }
    }
    close $fh;
    return ($rc, $out, $line);
}

my @good = (
    ['a proxy location without the hook', location => $proxy],
    ['a proxy location with its message hook',
     location => "$proxy ws_backend_message /internal/sub;"],
    ['a proxy location turning an inherited hook off',
     location => "$proxy ws_backend_subscribe off;",
     http => 'ws_backend_subscribe /internal/sub;'],
    ['the hook in a JSON location',
     location => 'ws_listen; ws_protocol json; ws_channels_allow room:*;'
                 . "\n ws_backend_subscribe /internal/sub;",
     http => 'ws_zone z 1m;'],
);

for my $case (@good) {
    my ($name, @args) = @$case;
    my ($rc, $out) = nginx_t(@args);
    is($rc, 0, "accepted: $name") or diag($out);
}

my @bad = (
    ['the hook in the proxy location',
     location => "$proxy\n ws_backend_subscribe /internal/sub;"],
    ['the hook inherited from http{}',
     location => $proxy, http => 'ws_backend_subscribe /internal/sub;'],
);

for my $case (@bad) {
    my ($name, @args) = @$case;
    my ($rc, $out, $line) = nginx_t(@args);
    isnt($rc, 0, "refused: $name");
    like($out, qr/"ws_backend_subscribe" cannot be combined with "ws_proxy_pass".* in \S+nginx\.conf:$line\b/,
         "the message names the directive and its line ($line): $name");
    ok($line > 0, "the directive is in the file: $name");
}

done_testing();
