# The opening handshake (RFC 6455 section 4.2): what upgrades, what is
# refused with which status, and the fallback for plain requests.
use Test::NgxWs;

run_tests();

# HTTP/2 cannot carry an Upgrade in NGINX 1.22: the module says 501.
SKIP: {
    my $curl_h2 = `curl -V 2>/dev/null` =~ /\bHTTP2\b/;
    skip 'curl without HTTP/2', 1 unless $curl_h2;
    my $ngx = start_nginx(name => 'HTTP/2 request', http_config => <<'CONF');
    server {
        listen 127.0.0.1:$port2 http2;
        location /ws { ws_listen; ws_echo on; }
    }
CONF
    my $port2 = test_port() + 1;
    my $code = run_bounded("curl -s --max-time 10 --http2-prior-knowledge -o /dev/null -w '%{http_code}' http://127.0.0.1:$port2/ws");
    is($code, '501', 'HTTP/2 request - status 501');
    check_logs($ngx);
}

done_testing();

__DATA__

=== TEST 1: a correct handshake upgrades and echoes
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_handshake
--- response_headers
Upgrade: websocket
Connection: upgrade
--- ws_send
text hello
close 1000
--- ws_expect
text hello
close 1000
--- ws_expect_eof



=== TEST 2: the RFC 6455 sample key gives the RFC's accept value
--- config
    location /ws { ws_listen; }
--- ws_handshake
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
--- response_headers
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=



=== TEST 3: Upgrade token is case-insensitive
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_handshake
Upgrade: WebSocket
--- ws_send
text a
--- ws_expect
text a



=== TEST 4: Upgrade token list with websocket not first
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_handshake
Upgrade: foo, WebSocket
--- ws_send
text a
--- ws_expect
text a



=== TEST 5: Connection token list
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_handshake
Connection: keep-alive, Upgrade
--- ws_send
text a
--- ws_expect
text a



=== TEST 6: Connection header without upgrade -> 400
--- config
    location /ws { ws_listen; }
--- ws_handshake
Connection: keep-alive
--- error_code: 400
--- error_log
ws: handshake rejected with 400:



=== TEST 7: Connection header missing -> 400
--- config
    location /ws { ws_listen; }
--- ws_handshake
!Connection
--- error_code: 400
--- error_log
ws: handshake rejected with 400:



=== TEST 8: POST -> 405 with Allow: GET
--- config
    location /ws { ws_listen; }
--- ws_handshake
POST /ws HTTP/1.1
--- error_code: 405
--- response_headers
Allow: GET
--- error_log
ws: handshake rejected with 405:



=== TEST 9: HEAD -> 405
--- config
    location /ws { ws_listen; }
--- ws_handshake
HEAD /ws HTTP/1.1
--- error_code: 405
--- response_headers
Allow: GET



=== TEST 10: plain GET (no Upgrade) -> 426 with Upgrade: websocket
--- config
    location /ws { ws_listen; }
--- request
GET /ws
--- error_code: 426
--- response_headers
Upgrade: websocket
--- error_log
ws: handshake rejected with 426:



=== TEST 11: Upgrade to another protocol -> 426
--- config
    location /ws { ws_listen; }
--- ws_handshake
Upgrade: h2c
--- error_code: 426
--- response_headers
Upgrade: websocket



=== TEST 12: upgrade over HTTP/1.0 -> 400
--- config
    location /ws { ws_listen; }
--- ws_handshake
GET /ws HTTP/1.0
--- error_code: 400
--- error_log
ws: handshake rejected with 400:



=== TEST 13: missing Host (HTTP/1.0 so NGINX itself lets it through) -> 400
--- config
    location /ws { ws_listen; }
--- ws_handshake
GET /ws HTTP/1.0
!Host
--- error_code: 400



=== TEST 14: missing Host on HTTP/1.1 -> 400 (from NGINX or the module)
--- config
    location /ws { ws_listen; }
--- ws_handshake
!Host
--- error_code: 400



=== TEST 15: Sec-WebSocket-Version missing -> 426 with Sec-WebSocket-Version: 13
--- config
    location /ws { ws_listen; }
--- ws_handshake
!Sec-WebSocket-Version
--- error_code: 426
--- response_headers
Sec-WebSocket-Version: 13
--- error_log
ws: handshake rejected with 426:



=== TEST 16: Sec-WebSocket-Version 8 -> 426
--- config
    location /ws { ws_listen; }
--- ws_handshake
Sec-WebSocket-Version: 8
--- error_code: 426
--- response_headers
Sec-WebSocket-Version: 13



=== TEST 17: Sec-WebSocket-Key missing -> 400
--- config
    location /ws { ws_listen; }
--- ws_handshake
!Sec-WebSocket-Key
--- error_code: 400
--- error_log
ws: handshake rejected with 400:



=== TEST 18: key is base64 of 15 bytes -> 400
--- config
    location /ws { ws_listen; }
--- ws_handshake
Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA
--- error_code: 400



=== TEST 19: key is base64 of 17 bytes -> 400
--- config
    location /ws { ws_listen; }
--- ws_handshake
Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=
--- error_code: 400



=== TEST 20: key has the right length but is not base64 -> 400
--- config
    location /ws { ws_listen; }
--- ws_handshake
Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==
--- error_code: 400



=== TEST 21: key too short -> 400
--- config
    location /ws { ws_listen; }
--- ws_handshake
Sec-WebSocket-Key: abc
--- error_code: 400



=== TEST 22: ws_fallback to a URI serves plain requests
--- config
    location /ws { ws_listen; ws_echo on; ws_fallback /plain; }
    location /plain { return 200 "plain page\n"; }
--- request
GET /ws
--- error_code: 200
--- response_body
plain page



=== TEST 23: ws_fallback to a named location
--- config
    location /ws { ws_listen; ws_fallback @page; }
    location @page { return 200 "named page\n"; }
--- request
GET /ws
--- response_body
named page



=== TEST 24: with ws_fallback set, an upgrade request still upgrades
--- config
    location /ws { ws_listen; ws_echo on; ws_fallback @page; }
    location @page { return 200 "named page\n"; }
--- ws_send
text still ws
--- ws_expect
text still ws



=== TEST 25: location without ws_listen does not upgrade
--- config
    location /ws { ws_listen; }
    location /other { return 200 "other\n"; }
--- ws_handshake
GET /other HTTP/1.1
--- error_code: 200
--- response_body
other
