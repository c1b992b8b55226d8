# Size limits: ws_max_message_size and ws_max_frame_size close with 1009,
# and they are enforced from the frame header, before the payload arrives.
use Test::NgxWs;

run_tests();
done_testing();

__DATA__

=== TEST 1: a message of exactly ws_max_message_size passes
--- config
    location /ws { ws_listen; ws_echo on; ws_max_message_size 1k; }
--- ws_send
text len=1024
--- ws_expect
text len=1024



=== TEST 2: one byte over ws_max_message_size -> 1009
--- config
    location /ws { ws_listen; ws_echo on; ws_max_message_size 1k; }
--- ws_send
text len=1025
--- ws_expect
close 1009
--- ws_expect_eof
--- error_log eval
qr/\*\d+ ws: .*closing with 1009/



=== TEST 3: a header alone announcing 2 MB is refused at once (default limit 1m)
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame op=binary len_field=2000000 payload=
--- ws_expect
close 1009
--- ws_expect_eof
--- timeout: 2



=== TEST 4: 1 MiB exactly passes with the default limit
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
binary len=1048576
--- ws_expect
binary len=1048576



=== TEST 5: 1 MiB + 1 is refused with the default limit
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame op=binary len_field=1048577 payload=
--- ws_expect
close 1009
--- ws_expect_eof
--- timeout: 2



=== TEST 6: fragments that add up past the limit -> 1009 before the last fragment
--- config
    location /ws { ws_listen; ws_echo on; ws_max_message_size 100; }
--- ws_send
frame fin=0 op=binary len=60
frame fin=0 op=cont len=60
--- ws_expect
close 1009
--- ws_expect_eof
--- timeout: 2



=== TEST 7: fragment header alone that would pass the message limit -> 1009
--- config
    location /ws { ws_listen; ws_echo on; ws_max_message_size 100; }
--- ws_send
frame fin=0 op=binary len=60
frame fin=0 op=cont len_field=41 payload=
--- ws_expect
close 1009
--- ws_expect_eof
--- timeout: 2



=== TEST 8: ws_max_frame_size: frame one byte over -> 1009
--- config
    location /ws { ws_listen; ws_echo on; ws_max_frame_size 100; }
--- ws_send
frame op=binary len_field=101 payload=
--- ws_expect
close 1009
--- ws_expect_eof
--- timeout: 2
--- error_log eval
qr/ws: .*closing with 1009/



=== TEST 9: ws_max_frame_size: a message of three frames at the limit passes
(100400 = 400 x 251, the binary pattern length, so the parts join into len=301200)
--- config
    location /ws { ws_listen; ws_echo on; ws_max_frame_size 100400; }
--- ws_send
frame fin=0 op=binary len=100400
frame fin=0 op=cont len=100400
frame op=cont len=100400
--- ws_expect
binary len=301200



=== TEST 10: 63-bit length (no MSB) is a size error -> 1009
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame op=binary len_field=0x7fffffffffffffff payload=
--- ws_expect
close 1009
--- ws_expect_eof
--- timeout: 2



=== TEST 11: limits merge: http level sets 10, location overrides with 100
--- http_config
    ws_max_message_size 10;
--- config
    location /ws { ws_listen; ws_echo on; ws_max_message_size 100; }
    location /small { ws_listen; ws_echo on; }
--- ws_send
text len=50
--- ws_expect
text len=50



=== TEST 12: limits merge: http level value reaches a location without its own
--- http_config
    ws_max_message_size 10;
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text len=11
--- ws_expect
close 1009
--- ws_expect_eof



=== TEST 13: limits merge: server level value
--- config
    ws_max_message_size 10;
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text len=10
text len=11
--- ws_expect
text len=10
close 1009
--- ws_expect_eof



=== TEST 14: control frames do not count toward the message size
--- config
    location /ws { ws_listen; ws_echo on; ws_max_message_size 10; }
--- ws_send
frame fin=0 op=text payload=12345
ping 0123456789abcdef
frame op=cont payload=67890
--- ws_expect
pong 0123456789abcdef
text 1234567890
