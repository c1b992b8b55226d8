# ws_proxy_pass to a wss:// upstream (Python websockets with a certificate
# of a CA made here): verified against the right CA it works; against a
# wrong CA, or for a name the certificate does not carry, the client gets
# 502 and the log says why; with verification off it is encrypted only.
use Test::NgxWs;
use Test::More;
use IPC::Open2 qw(open2);
use File::Path qw(make_path);

my $port = test_port();
my $tls = $port + 2;
my $root = repo_root();
my $dir = "$root/t/servroot/063-proxy-tls-certs";
make_path($dir);

sub openssl { system("openssl @_ >/dev/null 2>&1") == 0 or die "openssl @_ failed\n" }

for my $ca ('ca', 'wrongca') {
    openssl("req -x509 -nodes -newkey rsa:2048 -days 2 -subj /CN=$ca "
            . "-keyout $dir/$ca.key -out $dir/$ca.crt");
}
openssl("req -nodes -newkey rsa:2048 -subj /CN=localhost "
        . "-keyout $dir/server.key -out $dir/server.csr");
open my $ext, '>', "$dir/server.ext" or die $!;
print $ext "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
close $ext;
openssl("x509 -req -in $dir/server.csr -CA $dir/ca.crt -CAkey $dir/ca.key "
        . "-CAcreateserial -days 2 -extfile $dir/server.ext -out $dir/server.crt");

my $pid = open2(my $out, my $in, '/usr/bin/python3',
                "$root/t/proxy/python_upstream.py", $tls,
                "$dir/server.crt", "$dir/server.key");
like(<$out> // '', qr/listening/, 'python websockets listens with TLS');

my $config = <<CONF;
    location /right/ {
        ws_listen;
        ws_proxy_pass wss://127.0.0.1:$tls/echo;
        ws_proxy_ssl_verify on;
        ws_proxy_ssl_trusted_certificate $dir/ca.crt;
    }
    location /byname/ {
        ws_listen;
        ws_proxy_pass wss://localhost:$tls/echo;
        ws_proxy_ssl_verify on;
        ws_proxy_ssl_trusted_certificate $dir/ca.crt;
    }
    location /wrong/ {
        ws_listen;
        ws_proxy_pass wss://127.0.0.1:$tls/echo;
        ws_proxy_ssl_verify on;
        ws_proxy_ssl_trusted_certificate $dir/wrongca.crt;
    }
    location /noverify/ {
        ws_listen;
        ws_proxy_pass wss://127.0.0.1:$tls/echo;
        ws_proxy_ssl_trusted_certificate $dir/wrongca.crt;
    }
    location /plain/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$tls/echo;
    }
CONF

my $ngx = start_nginx(name => 'tls', config => $config, log_level => 'info');

for my $loc ('right', 'byname', 'noverify') {
    my $ws = ws_connect(uri => "/$loc/");
    $ws->send_text("over $loc");
    $ws->expect("text over $loc", "$loc: relayed over TLS");
    $ws->send_dsl('binary len=200000');
    $ws->expect('binary len=200000', "$loc: a large message over TLS");
    $ws->send_close(4001, 'done');
    $ws->expect('close 4001', "$loc: close code relayed over TLS");
}

my $res = ws_handshake_answer(uri => '/wrong/');
is($res->{status}, 502, 'a certificate of another CA: 502');
$res = ws_handshake_answer(uri => '/plain/');
is($res->{status}, 502, 'ws:// to a TLS port: 502');

like($ngx->error_log, qr/ws proxy: upstream 127\.0\.0\.1:$tls: certificate verify failed/,
     'the log says the certificate was refused');

check_logs($ngx, undef, allow => qr/ws proxy: upstream|SSL_do_handshake|certificate verify/);

# at nginx -t
my ($rc, $outt) = nginx_check_config(dir => '063-proxy-tls-t',
    location => 'ws_listen; ws_proxy_pass wss://127.0.0.1:9; ws_proxy_ssl_verify on;');
isnt($rc, 0, 'ws_proxy_ssl_verify without a trusted certificate refused');
like($outt, qr/"ws_proxy_ssl_verify" is on but no "ws_proxy_ssl_trusted_certificate".* in \S+nginx\.conf:\d+/,
     'and the message names both directives');
($rc, $outt) = nginx_check_config(dir => '063-proxy-tls-t',
    location => 'ws_listen; ws_proxy_pass wss://127.0.0.1:9; ws_proxy_ssl_verify on; '
              . 'ws_proxy_ssl_trusted_certificate /nonexistent/ca.pem;');
isnt($rc, 0, 'a trusted certificate that does not exist refused');
like($outt, qr/nonexistent\/ca\.pem/, 'and the message names the file');
($rc, $outt) = nginx_check_config(dir => '063-proxy-tls-t',
    location => 'ws_listen; ws_proxy_pass wss://127.0.0.1:9; ws_proxy_ssl_verify maybe;');
isnt($rc, 0, 'ws_proxy_ssl_verify maybe refused');
like($outt, qr/"ws_proxy_ssl_verify"/, 'naming the directive');

done_testing();
