# Self-test of t/lib/Test/NgxWs.pm against stock NGINX (no module needed):
# config expansion, HTTP client, header/body/log checks.
use Test::NgxWs without_module => 1;

# An echo server from python3-websockets for the WebSocket blocks; its port
# goes into the config through $TEST_NGINX_ECHO_PORT. make test installs
# python3-websockets, so it is required: without it those blocks fail.
my $echo_port = test_port() + 2;
my $echo_pid = fork // die "fork: $!";
if (!$echo_pid) {
    exec '/usr/bin/python3', '-c', <<"PY" or POSIX::_exit(1);
import asyncio, websockets
async def echo(ws, path):
    async for m in ws:
        await ws.send(m)
async def main():
    async with websockets.serve(echo, "127.0.0.1", $echo_port, max_size=None):
        await asyncio.Future()
asyncio.run(main())
PY
}
ok(wait_for(sub { IO::Socket::INET->new("127.0.0.1:$echo_port") }, 10),
   'the python3-websockets echo server listens (Debian python3-websockets)');

$ENV{TEST_NGINX_ECHO_PORT} = $echo_port;
Test::NgxWs::run_block($_) for blocks();
kill 'TERM', $echo_pid;
waitpid $echo_pid, 0;
done_testing();

__DATA__

=== TEST 1: return 200 with a body
--- config
    location /hello { return 200 "hello\n"; }
--- request
GET /hello
--- response_body
hello
--- error_code: 200
--- access_log
"GET /hello HTTP/1.1" 200



=== TEST 2: headers present and absent
--- config
    location /h {
        add_header X-Test yes;
        return 201 "created";
    }
--- request
GET /h
--- error_code: 201
--- response_headers
X-Test: yes
!X-Absent
--- response_body_like: ^created$



=== TEST 3: raw request with eval, HTTP/1.1 without Host is refused by nginx
--- config
    location / { return 200 "ok"; }
--- raw_request eval
"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- error_log
client sent HTTP/1.1 request without "Host" header



=== TEST 4: second server on $port2 via http_config, a $variable survives
--- http_config
    server {
        listen 127.0.0.1:$port2;
        location / { return 200 "two $request_method"; }
    }
--- config
    location / { return 200 "one"; }
--- port: $port2
--- request
POST /
abc
--- response_body: two POST
--- no_error_log
[error]



=== TEST 5: TLS client against listen ssl with the generated certificate
--- http_config
    server {
        listen 127.0.0.1:$port2 ssl;
        ssl_certificate cert.pem;
        ssl_certificate_key cert.key;
        location / { return 200 "secure $https"; }
    }
--- config
    location / { return 200 "plain"; }
--- port: $port2
--- tls
--- request
GET /
--- response_body: secure on



=== TEST 6: WebSocket sections, through proxy_pass to a python websockets echo
(the echo server is started at the top of this file)
--- http_config
    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
--- config
    location /ws {
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
    }
--- ws_handshake
Upgrade: WebSocket
--- ws_send
text hello
expect text hello
frame fin=0 op=text payload=hel
ping mid
frame op=cont payload=lo
expect pong mid
expect text hello
binary len=70000
expect binary len=70000
close 1000 bye
--- ws_expect
close 1000 bye
--- ws_expect_eof
--- access_log
"GET /ws HTTP/1.1" 101



=== TEST 7: WebSocket over TLS through proxy_pass to the python websockets echo
--- http_config
    server {
        listen 127.0.0.1:$port2 ssl;
        ssl_certificate cert.pem;
        ssl_certificate_key cert.key;
        location /ws {
            proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection upgrade;
        }
    }
--- port: $port2
--- tls
--- ws_send
text over tls
binary len=1048576
expect text over tls
expect binary len=1048576
close 1000
--- ws_expect
close 1000
--- ws_expect_eof
