# UTF-8 in text messages (RFC 6455 section 8.1): valid text passes, invalid
# text closes with 1007, also when the bad sequence spans fragments, and the
# server fails fast instead of waiting for the end of the message.
use Test::NgxWs;

run_tests();
done_testing();

__DATA__

=== TEST 1: two-, three- and four-byte sequences
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text_hex ceba
text_hex e282ac
text_hex f09f9880
text_hex f48fbfbf
text_hex 68c3a96c6c6f
--- ws_expect
text_hex ceba
text_hex e282ac
text_hex f09f9880
text_hex f48fbfbf
text_hex 68c3a96c6c6f



=== TEST 2: a lone 0xff byte -> 1007
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text_hex 61ff62
--- ws_expect
close 1007
--- ws_expect_eof
--- error_log eval
qr/\*\d+ ws: protocol error: .*, closing with 1007/



=== TEST 3: overlong encoding of '/' -> 1007
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text_hex c0af
--- ws_expect
close 1007
--- ws_expect_eof



=== TEST 4: overlong three-byte encoding -> 1007
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text_hex e08080
--- ws_expect
close 1007
--- ws_expect_eof



=== TEST 5: UTF-16 surrogate U+D800 -> 1007
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text_hex eda080
--- ws_expect
close 1007
--- ws_expect_eof



=== TEST 6: code point above U+10FFFF -> 1007
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text_hex f4908080
--- ws_expect
close 1007
--- ws_expect_eof



=== TEST 7: sequence cut at the end of the message -> 1007
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text_hex 61ce
--- ws_expect
close 1007
--- ws_expect_eof



=== TEST 8: a continuation byte alone -> 1007
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text_hex 80
--- ws_expect
close 1007
--- ws_expect_eof



=== TEST 9: a valid sequence split across fragments
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame fin=0 op=text payload_hex=61f0
frame fin=0 op=cont payload_hex=9f
frame fin=0 op=cont payload_hex=98
frame op=cont payload_hex=8062
--- ws_expect
text_hex 61f09f988062



=== TEST 10: invalid byte in the first fragment fails fast (no final fragment sent)
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame fin=0 op=text payload_hex=cebaff
--- ws_expect
close 1007
--- ws_expect_eof
--- timeout: 2



=== TEST 11: invalid sequence across a fragment boundary fails fast
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame fin=0 op=text payload_hex=61f4
frame fin=0 op=cont payload_hex=90
--- ws_expect
close 1007
--- ws_expect_eof
--- timeout: 2



=== TEST 12: message ending inside a sequence that started in an earlier fragment -> 1007
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame fin=0 op=text payload_hex=61e2
frame op=cont payload_hex=82
--- ws_expect
close 1007
--- ws_expect_eof



=== TEST 13: binary messages are not checked
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
binary_hex ff c0af eda080
--- ws_expect
binary_hex ffc0afeda080



=== TEST 14: ping payloads are not checked
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
ping_hex ffff
--- ws_expect
pong_hex ffff



=== TEST 15: invalid text is rejected even without ws_echo
--- config
    location /ws { ws_listen; }
--- ws_send
text_hex ff
--- ws_expect
close 1007
--- ws_expect_eof
