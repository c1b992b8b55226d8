# wss://: the same endpoint behind `listen ssl` (self-signed certificate made
# by openssl in the prefix), driven by the Perl client over IO::Socket::SSL.
use Test::NgxWs;

BEGIN {
    unless (eval { require IO::Socket::SSL; 1 }) {
        Test::More::plan(skip_all => 'IO::Socket::SSL missing (libio-socket-ssl-perl); '
                                     . 't/012-interop.t covers wss with python');
    }
}

run_tests();
done_testing();

__DATA__

=== TEST 1: wss echo of text, binary, ping, and a clean close
--- http_config
    server {
        listen 127.0.0.1:$port2 ssl;
        ssl_certificate cert.pem;
        ssl_certificate_key cert.key;
        location /ws { ws_listen; ws_echo on; }
    }
--- port: $port2
--- tls
--- ws_send
text hello over tls
binary_hex 00ff00ff
ping tls
close 1000 bye
--- ws_expect
text hello over tls
binary_hex 00ff00ff
pong tls
close 1000
--- ws_expect_eof



=== TEST 2: wss sizes around the length encodings, and 1 MiB
--- http_config
    server {
        listen 127.0.0.1:$port2 ssl;
        ssl_certificate cert.pem;
        ssl_certificate_key cert.key;
        location /ws { ws_listen; ws_echo on; }
    }
--- port: $port2
--- tls
--- ws_send
text
text len=125
binary len=126
binary len=65535
text len=65536
binary len=1048576
--- ws_expect
text
text len=125
binary len=126
binary len=65535
text len=65536
binary len=1048576
--- timeout: 10



=== TEST 3: wss protocol error closes with 1002
--- http_config
    server {
        listen 127.0.0.1:$port2 ssl;
        ssl_certificate cert.pem;
        ssl_certificate_key cert.key;
        location /ws { ws_listen; ws_echo on; }
    }
--- port: $port2
--- tls
--- ws_send
frame mask=0 op=text payload=x
--- ws_expect
close 1002
--- ws_expect_eof



=== TEST 4: plain GET over TLS gets 426
--- http_config
    server {
        listen 127.0.0.1:$port2 ssl;
        ssl_certificate cert.pem;
        ssl_certificate_key cert.key;
        location /ws { ws_listen; }
    }
--- port: $port2
--- tls
--- request
GET /ws
--- error_code: 426
--- response_headers
Upgrade: websocket



=== TEST 5: fragmented message over TLS, in small writes
--- http_config
    server {
        listen 127.0.0.1:$port2 ssl;
        ssl_certificate cert.pem;
        ssl_certificate_key cert.key;
        location /ws { ws_listen; ws_echo on; }
    }
--- port: $port2
--- tls
--- ws_send
frame fin=0 op=text payload=ab
sleep 0.05
frame fin=0 op=cont payload=cd
ping mid
sleep 0.05
frame op=cont payload=ef
--- ws_expect
pong mid
text abcdef
