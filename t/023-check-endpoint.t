# The synthetic check (conf_examples/ws_check.py, `make check-endpoint`):
# exit 0 with the latency when a message makes the round trip (an echo, or
# the JSON protocol's answer), exit 1 with the reason when the handshake is
# refused, nobody listens, nothing answers, or the URL is not a WebSocket
# URL, exit 2 on a usage error. Headers, cookies and a token reach guarded
# endpoints. make itself exits 2 whenever its recipe fails.
use Test::NgxWs;
use Test::NgxWsJwt;
use Test::More;

my $root = repo_root();
# make as a user types it: not the settings of a make this test runs under
# (make test), which would add "Entering directory" lines and job flags
my $make = "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C $root";
my $check = "/usr/bin/python3 $root/conf_examples/ws_check.py";
my $port = test_port();

my $key = $ENV{TEST_NGINX_JWT_KEY} = "$root/conf_examples/demo-jwt.key";
my $ngx = start_nginx(name => 'check', log_level => 'info',
    http_config => 'ws_zone check 1m;', config => <<'CONF', tls => 1);
    listen 127.0.0.1:$port2 ssl;
    ssl_certificate cert.pem;
    ssl_certificate_key cert.key;
    location = /echo { ws_listen; ws_echo on; }
    location = /silent { ws_listen; }
    location ~ "^/chat/(?<room>\w+)$" { ws_listen; ws_subscribe room:$room; ws_publish room:$room; }
    location = /ws { ws_listen; ws_protocol json; ws_channels_allow room:*; }
    location = /guarded {
        if ($http_x_check != "yes") { return 403; }
        if ($cookie_session != "s1") { return 403; }
        ws_listen;
        ws_echo on;
    }
    location = /jwt {
        ws_listen;
        ws_echo on;
        ws_auth_jwt on;
        ws_auth_jwt_key HS256 $TEST_NGINX_JWT_KEY;
    }
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
is($rc, 1, 'no answer: exit 1');
like($out, qr/^FAIL .*no answer within 0\.5 s/, 'says so');

# the JSON control protocol answers the probe (a request with an id)
($rc, $out) = run_check("ws://127.0.0.1:$port/ws");
is($rc, 0, 'a JSON-protocol endpoint: exit 0') or diag($out);
like($out, qr{^OK ws://127\.0\.0\.1:$port/ws connect \d+\.\d ms, round trip \d+\.\d ms \(json\)$},
     'and says which answer it took');
($rc, $out) = run_check("--mode echo --timeout 0.5 ws://127.0.0.1:$port/ws");
is($rc, 1, '--mode echo on a JSON-protocol endpoint: exit 1');
($rc, $out) = run_check("--mode json --timeout 0.5 ws://127.0.0.1:$port/echo");
is($rc, 1, '--mode json on an echo: exit 1');
($rc, $out) = run_check("--mode json ws://127.0.0.1:$port/ws");
is($rc, 0, '--mode json on a JSON-protocol endpoint: exit 0');
($rc, $out) = run_check("--channel room:check ws://127.0.0.1:$port/ws");
is($rc, 0, '--channel: subscribe, publish and receive: exit 0') or diag($out);
like($out, qr/round trip \d+\.\d ms \(json, channel room:check\)$/, 'says so');
($rc, $out) = run_check("--channel admin ws://127.0.0.1:$port/ws");
is($rc, 1, '--channel not allowed: exit 1');
like($out, qr/^FAIL .*forbidden: channel not allowed/, "with the server's reason");

# headers, cookies, a token
($rc, $out) = run_check("ws://127.0.0.1:$port/guarded");
is($rc, 1, 'guarded endpoint, nothing sent: exit 1');
like($out, qr/HTTP 403/, 'refused with 403');
($rc, $out) = run_check("--header 'X-Check: yes' --cookie session=s1 ws://127.0.0.1:$port/guarded");
is($rc, 0, 'with --header and --cookie: exit 0') or diag($out);
($rc, $out) = run_check("--header 'X-Check: yes' --cookie other=1 --cookie session=s1 "
                        . "ws://127.0.0.1:$port/guarded");
is($rc, 0, 'with several cookies: exit 0') or diag($out);
my $secret = do { local (@ARGV, $/) = $key; <> };
chomp $secret;
my $token = jwt_token(alg => 'HS256', secret => $secret,
                      claims => json_obj(sub => 'check', exp => time + 600));
($rc, $out) = run_check("ws://127.0.0.1:$port/jwt");
is($rc, 1, 'JWT endpoint without a token: exit 1');
like($out, qr/HTTP 401/, 'refused with 401');
($rc, $out) = run_check("--token $token ws://127.0.0.1:$port/jwt");
is($rc, 0, 'with --token: exit 0') or diag($out);

($rc, $out) = run_check("--mode bogus ws://127.0.0.1:$port/echo");
is($rc, 2, 'a usage error: exit 2');
($rc, $out) = run_check("--header nocolon ws://127.0.0.1:$port/echo");
is($rc, 2, 'a header that is not "Name: value": exit 2');

($rc, $out) = run_check('ws://127.0.0.1:' . ($port + 9) . '/echo');
is($rc, 1, 'nobody listening: exit 1');
like($out, qr/^FAIL /, 'FAIL line');

($rc, $out) = run_check("http://127.0.0.1:$port/echo");
is($rc, 1, 'not a ws:// URL: exit 1');

$out = run_bounded("$make check-endpoint URL=ws://127.0.0.1:$port/echo");
is($? >> 8, 0, 'make check-endpoint: exit 0');
like($out, qr/^OK /m, 'make check-endpoint prints OK');
$out = run_bounded("$make check-endpoint URL=ws://127.0.0.1:$port/ws");
is($? >> 8, 0, 'make check-endpoint on a JSON-protocol endpoint: exit 0') or diag($out);
$out = run_bounded("$make check-endpoint URL=ws://127.0.0.1:$port/jwt CHECK_OPTIONS='--token $token'");
is($? >> 8, 0, 'make check-endpoint with CHECK_OPTIONS: exit 0') or diag($out);
# make exits 2 for any failed recipe; its message carries the check's 1
$out = run_bounded("$make check-endpoint URL=ws://127.0.0.1:$port/nowhere");
is($? >> 8, 2, 'make check-endpoint, check failed: exit 2 (make)');
like($out, qr/^FAIL .*HTTP 404.*\n.*check-endpoint\] Error 1$/s,
     "the FAIL line, then make's Error 1");
$out = run_bounded("$make check-endpoint");
is($? >> 8, 2, 'make check-endpoint without URL: usage, exit 2');
like($out, qr/^usage: /, 'says how');

check_logs($ngx);

done_testing();
