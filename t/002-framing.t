# Framing rules (RFC 6455 section 5): every malformed frame is answered with
# close 1002 and a log line; good fragments, control frames in between,
# and payload lengths at each length-encoding boundary go through.
use Test::NgxWs;

run_tests();
done_testing();

__DATA__

=== TEST 1: unmasked client frame -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame mask=0 op=text payload=hi
--- ws_expect
close 1002
--- ws_expect_eof
--- error_log eval
qr/\*\d+ ws: protocol error: .*, closing with 1002/



=== TEST 2: RSV1 set without an extension -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame rsv=4 op=text payload=hi
--- ws_expect
close 1002
--- ws_expect_eof
--- error_log eval
qr/ws: protocol error: .*, closing with 1002/



=== TEST 3: RSV2 set -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame rsv=2 op=binary payload=hi
--- ws_expect
close 1002
--- ws_expect_eof



=== TEST 4: RSV3 set on a ping -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame rsv=1 op=ping payload=hi
--- ws_expect
close 1002
--- ws_expect_eof



=== TEST 5: reserved data opcode 3 -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame op=3 payload=x
--- ws_expect
close 1002
--- ws_expect_eof
--- error_log eval
qr/ws: protocol error: .*, closing with 1002/



=== TEST 6: reserved control opcode 0xB -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame op=11 payload=x
--- ws_expect
close 1002
--- ws_expect_eof



=== TEST 7: ping with 126 bytes -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame op=ping len=126
--- ws_expect
close 1002
--- ws_expect_eof
--- error_log eval
qr/ws: protocol error: .*, closing with 1002/



=== TEST 8: ping with 125 bytes -> pong with the same payload
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
ping len=125
--- ws_expect
pong len=125



=== TEST 9: fragmented ping -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame fin=0 op=ping payload=a
--- ws_expect
close 1002
--- ws_expect_eof



=== TEST 10: close frame with a 126-byte payload -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame op=close len=126
--- ws_expect
close 1002
--- ws_expect_eof



=== TEST 11: continuation without a started message -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame op=cont payload=x
--- ws_expect
close 1002
--- ws_expect_eof
--- error_log eval
qr/ws: protocol error: .*, closing with 1002/



=== TEST 12: new text frame inside a fragmented message -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame fin=0 op=text payload=a
frame op=text payload=b
--- ws_expect
close 1002
--- ws_expect_eof



=== TEST 13: new binary frame inside a fragmented message -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame fin=0 op=binary payload=a
frame fin=0 op=binary payload=b
--- ws_expect
close 1002
--- ws_expect_eof



=== TEST 14: 64-bit length with the most significant bit set -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame op=binary len_field=0x8000000000000000 payload=
--- ws_expect
close 1002
--- ws_expect_eof
--- error_log eval
qr/ws: protocol error: .*, closing with 1002/



=== TEST 15: 16-bit length encoding for a 2-byte payload -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame op=text len_enc=16 payload=hi
--- ws_expect
close 1002
--- ws_expect_eof



=== TEST 16: 64-bit length encoding for a 200-byte payload -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame op=binary len_enc=64 len=200
--- ws_expect
close 1002
--- ws_expect_eof



=== TEST 17: fragmented text message is echoed whole
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame fin=0 op=text payload=hel
frame fin=0 op=cont payload=lo w
frame fin=0 op=cont payload=
frame op=cont payload=orld
--- ws_expect
text hello world



=== TEST 18: fragmented binary message, 3 x 100400 bytes
(100400 is a multiple of the 251-byte pattern, so the parts join into len=301200)
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame fin=0 op=binary len=100400
frame fin=0 op=cont len=100400
frame op=cont len=100400
--- ws_expect
binary len=301200



=== TEST 19: ping, pong and another ping between fragments
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame fin=0 op=text payload=one,
ping p1
frame fin=0 op=cont payload=two,
pong unsolicited
ping p2
frame op=cont payload=three
--- ws_expect
pong p1
pong p2
text one,two,three



=== TEST 20: unsolicited pong is ignored
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
pong nobody asked
text after pong
--- ws_expect
text after pong



=== TEST 21: ping with an empty payload, and binary-looking ping payload
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
ping
ping_hex 00ff80c0
--- ws_expect
pong
pong_hex 00ff80c0



=== TEST 22: text payload sizes around the length encodings
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text
text len=125
text len=126
text len=65535
text len=65536
--- ws_expect
text
text len=125
text len=126
text len=65535
text len=65536



=== TEST 23: binary payload sizes around the length encodings
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
binary
binary len=125
binary len=126
binary len=65535
binary len=65536
--- ws_expect
binary
binary len=125
binary len=126
binary len=65535
binary len=65536



=== TEST 24: a frame that arrives a few bytes at a time
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
raw_hex 81
sleep 0.05
raw_hex 85 00 00
sleep 0.05
raw_hex 00 00 68 65
sleep 0.05
raw_hex 6c 6c 6f
--- ws_expect
text hello



=== TEST 25: many frames in one TCP write
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
raw_hex 89 81 00 00 00 00 70   81 81 00 00 00 00 61   82 82 00 00 00 00 62 62   81 81 01 01 01 01 62
--- ws_expect
pong p
text a
binary bb
text c



=== TEST 26: without ws_echo messages are read and dropped, pings answered
--- config
    location /ws { ws_listen; }
--- ws_send
text dropped
binary_hex 0102
ping still here
close 1000
--- ws_expect
pong still here
close 1000
--- ws_expect_eof



=== TEST 27: ws_echo off explicitly
--- config
    location /ws { ws_listen; ws_echo off; }
--- ws_send
text dropped
ping p
--- ws_expect
pong p



=== TEST 28: non-minimal 7-bit-fitting length in 64-bit form -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame op=text len_enc=64 payload=hi
--- ws_expect
close 1002
--- ws_expect_eof
