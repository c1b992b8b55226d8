# The synthetic check (conf_examples/ws_check.py, `make check-endpoint`):
# exit 0 with the latency when a message makes the round trip, exit 1 with
# the reason when the handshake is refused, nobody listens, the endpoint
# does not echo, or the URL is not a WebSocket URL.
use Test::NgxWs;
use Test::More;

my $root = repo_root();
my $check = "/usr/bin/python3 $root/conf_examples/ws_check.py";
my $port = test_port();

my $ngx = start_nginx(name => 'check', log_level => 'info',
    http_config => 'ws_zone check 1m;', config => <<'CONF', tls => 1);
    listen 127.0.0.1:$port2 ssl;
    ssl_certificate cert.pem;
    ssl_certificate_key cert.key;
    location = /echo { ws_listen; ws_echo on; }
    location = /silent { ws_listen; }
    location ~ "^/chat/(?<room>\w+)$" { ws_listen; ws_subscribe room:$room; ws_publish room:$room; }
CONF

sub run_check {
    my ($args) = @_;
    my $out = run_bounded("$check $args");
    return ($? >> 8, $out);
}

my ($rc, $out) = run_check("ws://127.0.0.1:$port/echo");
is($rc, 0, 'echo endpoint: exit 0');
like($out, qr{^OK ws://127\.0\.0\.1:$port/echo connect \d+\.\d ms, round trip \d+\.\d ms$},
     'and prints the latency');

($rc, $out) = run_check("ws://127.0.0.1:$port/chat/lobby");
is($rc, 0, 'a chat room (the sender gets its own message): exit 0');

($rc, $out) = run_check('--insecure wss://127.0.0.1:' . ($port + 1) . '/echo');
is($rc, 0, 'wss:// with --insecure: exit 0') or diag($out);

($rc, $out) = run_check('wss://127.0.0.1:' . ($port + 1) . '/echo');
is($rc, 1, 'wss:// with a self-signed certificate, verified: exit 1');
like($out, qr/^FAIL .*certificate/, 'says it is the certificate');

($rc, $out) = run_check("ws://127.0.0.1:$port/nowhere");
is($rc, 1, 'refused handshake: exit 1');
like($out, qr/^FAIL .*HTTP 404/, 'with the status');

($rc, $out) = run_check("--timeout 0.5 ws://127.0.0.1:$port/silent");
is($rc, 1, 'no echo: exit 1');
like($out, qr/^FAIL .*no echo within 0\.5 s/, 'says so');

($rc, $out) = run_check('ws://127.0.0.1:' . ($port + 9) . '/echo');
is($rc, 1, 'nobody listening: exit 1');
like($out, qr/^FAIL /, 'FAIL line');

($rc, $out) = run_check("http://127.0.0.1:$port/echo");
is($rc, 1, 'not a ws:// URL: exit 1');

$out = run_bounded("make -s -C $root check-endpoint URL=ws://127.0.0.1:$port/echo");
is($? >> 8, 0, 'make check-endpoint: exit 0');
like($out, qr/^OK /m, 'make check-endpoint prints OK');
run_bounded("make -s -C $root check-endpoint");
is($? >> 8, 2, 'make check-endpoint without URL: usage, exit 2');

check_logs($ngx);

done_testing();
