# Handshake guards: ws_allowed_origins (403 before the upgrade) and
# subprotocol negotiation (ws_subprotocols, ws_subprotocol_required,
# $ws_subprotocol).
use Test::NgxWs;

run_tests();
done_testing();

__DATA__

=== TEST 1: an exact origin is allowed
--- config
    location /ws {
        ws_listen; ws_echo on;
        ws_allowed_origins https://app.example.com http://127.0.0.1:8080;
    }
--- ws_handshake
Origin: https://app.example.com
--- ws_send
text hi
--- ws_expect
text hi



=== TEST 2: scheme and host compare without regard to case
--- config
    location /ws {
        ws_listen; ws_echo on;
        ws_allowed_origins https://App.Example.com;
    }
--- ws_handshake
Origin: HTTPS://app.EXAMPLE.com
--- ws_send
text hi
--- ws_expect
text hi



=== TEST 3: another origin gets 403, logged with the origin
--- config
    location /ws {
        ws_listen; ws_echo on;
        ws_allowed_origins https://app.example.com;
    }
--- ws_handshake
Origin: https://evil.example.net
--- error_code: 403
--- response_body
origin not allowed
--- error_log
ws: origin "https://evil.example.net" is not in ws_allowed_origins
ws: handshake rejected with 403: origin not allowed



=== TEST 4: the same host with another scheme or port is another origin
--- config
    location /ws {
        ws_listen;
        ws_allowed_origins https://app.example.com;
    }
--- ws_handshake
Origin: http://app.example.com
--- error_code: 403
--- error_log
ws: origin "http://app.example.com" is not in ws_allowed_origins



=== TEST 5: a port the entry does not name is refused
--- config
    location /ws {
        ws_listen;
        ws_allowed_origins https://app.example.com;
    }
--- ws_handshake
Origin: https://app.example.com:8443
--- error_code: 403



=== TEST 6: a wildcard matches subdomains, with http or https
--- config
    location /ws {
        ws_listen; ws_echo on;
        ws_allowed_origins *.example.com;
    }
--- ws_handshake
Origin: http://a.b.example.com
--- ws_send
text ok
--- ws_expect
text ok



=== TEST 7: a wildcard does not match the bare domain
--- config
    location /ws {
        ws_listen;
        ws_allowed_origins *.example.com;
    }
--- ws_handshake
Origin: https://example.com
--- error_code: 403



=== TEST 8: a wildcard is not fooled by a suffix without the dot
--- config
    location /ws {
        ws_listen;
        ws_allowed_origins https://*.example.com;
    }
--- ws_handshake
Origin: https://evilexample.com
--- error_code: 403



=== TEST 9: a wildcard with a scheme refuses the other scheme
--- config
    location /ws {
        ws_listen;
        ws_allowed_origins https://*.example.com;
    }
--- ws_handshake
Origin: http://a.example.com
--- error_code: 403



=== TEST 10: a regex entry
--- config
    location /ws {
        ws_listen; ws_echo on;
        ws_allowed_origins ~^https://(app|admin)\.example\.org$;
    }
--- ws_handshake
Origin: https://admin.example.org
--- ws_send
text ok
--- ws_expect
text ok



=== TEST 11: a regex entry refuses what it does not match
--- config
    location /ws {
        ws_listen;
        ws_allowed_origins ~^https://(app|admin)\.example\.org$;
    }
--- ws_handshake
Origin: https://admin.example.org.evil.net
--- error_code: 403



=== TEST 12: a case-insensitive regex
--- config
    location /ws {
        ws_listen;
        ws_allowed_origins "~*^https://app\.example\.org$";
    }
--- ws_handshake
Origin: https://APP.example.org
--- error_code: 101



=== TEST 13: the null origin only when listed
--- config
    location /ws {
        ws_listen;
        ws_allowed_origins https://app.example.com;
    }
--- ws_handshake
Origin: null
--- error_code: 403



=== TEST 14: the null origin listed
--- config
    location /ws {
        ws_listen;
        ws_allowed_origins null;
    }
--- ws_handshake
Origin: null
--- error_code: 101



=== TEST 15: a malformed origin is refused
--- config
    location /ws {
        ws_listen;
        ws_allowed_origins *.example.com;
    }
--- ws_handshake
Origin: https://user@a.example.com/path
--- error_code: 403



=== TEST 16: two Origin headers are refused
--- config
    location /ws {
        ws_listen;
        ws_allowed_origins https://app.example.com;
    }
--- raw_request eval
"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
. "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
. "Origin: https://app.example.com\r\nOrigin: https://evil.example.net\r\n\r\n"
--- error_code: 403
--- error_log
ws: 2 Origin headers, refusing the upgrade



=== TEST 17: no Origin (not a browser) passes the check
--- config
    location /ws {
        ws_listen; ws_echo on;
        ws_allowed_origins https://app.example.com;
    }
--- ws_handshake
!Origin
--- ws_send
text ok
--- ws_expect
text ok



=== TEST 18: without ws_allowed_origins any origin upgrades
--- config
    location /ws { ws_listen; }
--- ws_handshake
Origin: https://anything.example.net
--- error_code: 101



=== TEST 19: inherited from the server level
--- config
    ws_allowed_origins https://app.example.com;
    location /ws { ws_listen; }
--- ws_handshake
Origin: https://other.example.com
--- error_code: 403



=== TEST 20: the first offered protocol the server lists is chosen
--- http_config
    log_format proto 'proto=$ws_subprotocol';
--- config
    location /ws {
        ws_listen; ws_echo on;
        access_log logs/access.log proto;
        ws_subprotocols chat.v2 chat.v1;
    }
--- ws_handshake
Sec-WebSocket-Protocol: other, chat.v1, chat.v2
--- response_headers
Sec-WebSocket-Protocol: chat.v1
--- ws_send
close 1000
--- ws_expect
close 1000
--- access_log
proto=chat.v1



=== TEST 21: protocols in several headers form one list
--- config
    location /ws {
        ws_listen;
        ws_subprotocols b;
    }
--- raw_request eval
"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
. "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
. "Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: x, b\r\n\r\n"
--- error_code: 101
--- response_headers
Sec-WebSocket-Protocol: b



=== TEST 22: protocol names are case-sensitive
--- config
    location /ws {
        ws_listen;
        ws_subprotocols chat;
    }
--- ws_handshake
Sec-WebSocket-Protocol: CHAT
--- response_headers
!Sec-WebSocket-Protocol



=== TEST 23: no common protocol, not required: upgrade without one
--- config
    location /ws {
        ws_listen; ws_echo on;
        ws_subprotocols chat;
    }
--- ws_handshake
Sec-WebSocket-Protocol: mqtt
--- response_headers
!Sec-WebSocket-Protocol
--- ws_send
text x
--- ws_expect
text x



=== TEST 24: required and none offered: 400
--- config
    location /ws {
        ws_listen;
        ws_subprotocols chat;
        ws_subprotocol_required on;
    }
--- ws_handshake
--- error_code: 400
--- response_body
no supported subprotocol offered
--- error_log
ws: client offered 0 subprotocols, none of ws_subprotocols



=== TEST 25: required and only unknown ones offered: 400
--- config
    location /ws {
        ws_listen;
        ws_subprotocols chat;
        ws_subprotocol_required on;
    }
--- ws_handshake
Sec-WebSocket-Protocol: mqtt, wamp
--- error_code: 400
--- error_log
ws: client offered 2 subprotocols, none of ws_subprotocols



=== TEST 26: required and offered
--- config
    location /ws {
        ws_listen;
        ws_subprotocols chat;
        ws_subprotocol_required on;
    }
--- ws_handshake
Sec-WebSocket-Protocol: chat
--- response_headers
Sec-WebSocket-Protocol: chat
