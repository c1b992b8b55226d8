# The closing handshake (RFC 6455 sections 5.5.1, 7.4): valid codes are
# echoed, invalid ones get 1002, bad reasons 1007, and a peer that never
# answers the server's close is dropped after ws_close_timeout.
use Test::NgxWs;

run_tests();

# Every code in these tables, one connection each, against one NGINX.
{
    my @valid   = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                   1012, 1013, 1014, 3000, 3999, 4000, 4999);
    my @invalid = (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
                   5000, 65535);
    my $ngx = start_nginx(name => 'close code tables', log_level => 'info',
                          config => '    location /ws { ws_listen; ws_echo on; }');
    for my $code (@valid) {
        my $ws = ws_connect(uri => '/ws');
        $ws->send_close($code, 'reason');
        $ws->expect("close $code", "valid close code $code");
        $ws->expect_eof("valid close code $code");
        $ws->disconnect;
    }
    for my $code (@invalid) {
        my $ws = ws_connect(uri => '/ws');
        $ws->send_close($code);
        $ws->expect('close 1002', "invalid close code $code");
        $ws->expect_eof("invalid close code $code");
        $ws->disconnect;
    }
    check_logs($ngx);
}

done_testing();

__DATA__

=== TEST 1: close 1000 is echoed, TCP closed, logged
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
close 1000
--- ws_expect
close 1000
--- ws_expect_eof
--- error_log eval
qr/\*\d+ ws: peer closed with 1000/



=== TEST 2: close with a reason
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text before
close 1000 bye
--- ws_expect
text before
close 1000
--- ws_expect_eof



=== TEST 3: close with a 123-byte reason (the largest allowed)
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
close 1001 aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeeeffffffffffgggggggggghhhhhhhhhhiiiiiiiiiijjjjjjjjjjkkkkkkkkkkllllllllllmmm
--- ws_expect
close 1001
--- ws_expect_eof
--- error_log
ws: peer closed with 1001



=== TEST 4: close with an empty payload is answered and TCP closed
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
close
--- ws_expect
close *
--- ws_expect_eof



=== TEST 5: close payload of 1 byte -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
close_raw_hex 03
--- ws_expect
close 1002
--- ws_expect_eof
--- error_log eval
qr/ws: protocol error: .*, closing with 1002/



=== TEST 6: close code 1005 on the wire -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
close 1005
--- ws_expect
close 1002
--- ws_expect_eof



=== TEST 7: close reason with invalid UTF-8 -> 1007
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
close_raw_hex 03e8 61 ff
--- ws_expect
close 1007
--- ws_expect_eof
--- error_log eval
qr/ws: protocol error: .*, closing with 1007/



=== TEST 8: close reason with valid UTF-8
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
close_raw_hex 03e8 ceba f09f9880
--- ws_expect
close 1000
--- ws_expect_eof



=== TEST 9: frames after the peer's close are not answered
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
close 1000
text too late
ping too late
--- ws_expect
close 1000
--- ws_expect_eof



=== TEST 10: peer that never answers the server's close is dropped after ws_close_timeout
(a protocol error fails the connection at once, RFC 6455 7.1.7, so the
server-initiated close here comes from the idle timeout)
--- config
    location /ws {
        ws_listen; ws_echo on;
        ws_ping_interval 0; ws_idle_timeout 200ms; ws_close_timeout 300ms;
    }
--- ws_no_close_reply
--- ws_expect
close 1001
--- ws_expect_eof
--- timeout: 2
--- error_log
ws: idle timeout, closing with 1001
ws: close handshake timed out
