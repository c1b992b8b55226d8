# The $ws_* variables in the access-log line written when a WebSocket ends.
# $ws_bytes_in / $ws_bytes_out count bytes on the wire: frame headers, mask
# keys and close frames included (client frames carry 4 mask bytes).
use Test::NgxWs;

run_tests();

{
    my $name = 'two connections get different connection ids';
    my $ngx = start_nginx(name => $name, http_config => <<'CONF',
    log_format ws 'id=$ws_connection_id';
    access_log logs/access.log ws;
CONF
                          config => '    location /ws { ws_listen; ws_echo on; }');
    for (1 .. 2) {
        my $ws = ws_connect(uri => '/ws');
        $ws->send_close(1000);
        $ws->expect('close 1000', $name);
        $ws->expect_eof($name);
    }
    ok(wait_for(sub { my @ids = $ngx->access_log =~ /^id=(\S+)$/mg; @ids == 2 }, 3),
       "$name - two lines");
    my @ids = $ngx->access_log =~ /^id=(\S+)$/mg;
    isnt($ids[0], $ids[1], "$name - ids differ (@ids)");
    check_logs($ngx);
}

done_testing();

__DATA__

=== TEST 1: counts after 3 messages each way and a clean close
--- http_config
    log_format ws 'id=$ws_connection_id code=$ws_close_code dur=$ws_duration '
                  'in=$ws_messages_in out=$ws_messages_out '
                  'bin=$ws_bytes_in bout=$ws_bytes_out status=$status';
    access_log logs/access.log ws;
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text a
binary bb
text ccc
close 1000
--- ws_expect
text a
binary bb
text ccc
close 1000
--- ws_expect_eof
--- access_log eval
# in: 7 + 8 + 9 + close 8 = 32; out: 3 + 4 + 5 + close 4 = 16
qr/^id=\S+ code=1000 dur=\d+(\.\d+)? in=3 out=3 bin=32 bout=16 status=101$/m



=== TEST 2: no echo: messages in counted, none out
--- http_config
    log_format ws 'code=$ws_close_code in=$ws_messages_in out=$ws_messages_out '
                  'bin=$ws_bytes_in bout=$ws_bytes_out';
    access_log logs/access.log ws;
--- config
    location /ws { ws_listen; }
--- ws_send
text 12345
text 67890
close 1001
--- ws_expect
close 1001
--- ws_expect_eof
--- access_log eval
# in: 11 + 11 + close 8; out: close 4
qr/^code=1001 in=2 out=0 bin=30 bout=4$/m



=== TEST 3: the close code of a protocol error is logged
--- http_config
    log_format ws 'code=$ws_close_code in=$ws_messages_in';
    access_log logs/access.log ws;
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text ok
frame mask=0 op=text payload=x
--- ws_expect
text ok
close 1002
--- ws_expect_eof
--- access_log eval
qr/^code=1002 in=1$/m



=== TEST 4: fragmented message counts once; large message bytes counted
--- http_config
    log_format ws 'in=$ws_messages_in out=$ws_messages_out bin=$ws_bytes_in bout=$ws_bytes_out';
    access_log logs/access.log ws;
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
frame fin=0 op=text payload=ab
frame op=cont payload=cd
binary len=70000
close 1000
--- ws_expect
text abcd
binary len=70000
close 1000
--- ws_expect_eof
--- access_log eval
# in: 8 + 8 + (14 + 70000) + close 8; out: 6 + (10 + 70000) + close 4
qr/^in=2 out=2 bin=70038 bout=70020$/m



=== TEST 5: the connection id is set
--- http_config
    log_format ws 'id=$ws_connection_id';
    access_log logs/access.log ws;
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
close 1000
--- ws_expect
close 1000
--- ws_expect_eof
--- access_log eval
qr/^id=\S+$/m



=== TEST 6: a session without guards counts 0 refusals, not "-"
--- http_config
    log_format ws 'rl=$ws_rate_limited acl=$ws_acl_denied user=$ws_user '
                  'proto=$ws_subprotocol code=$ws_close_code status=$status';
    access_log logs/access.log ws;
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_send
text a
close 1000
--- ws_expect
text a
close 1000
--- ws_expect_eof
--- access_log eval
qr/^rl=0 acl=0 user=- proto=- code=1000 status=101$/m



=== TEST 7: a plain request logs "-" for every $ws_* variable
--- http_config
    log_format ws 'rl=$ws_rate_limited acl=$ws_acl_denied id=$ws_connection_id '
                  'code=$ws_close_code in=$ws_messages_in status=$status';
    access_log logs/access.log ws;
--- config
    location /ws { ws_listen; ws_echo on; ws_limit_rate connection 10r/s; }
--- request
GET /ws
--- error_code: 426
--- access_log eval
qr/^rl=- acl=- id=- code=- in=- status=426$/m



=== TEST 8: a handshake the guards refuse logs "-" for every $ws_* variable
--- http_config
    log_format ws 'rl=$ws_rate_limited acl=$ws_acl_denied id=$ws_connection_id '
                  'code=$ws_close_code in=$ws_messages_in status=$status';
    access_log logs/access.log ws;
--- config
    location /ws {
        ws_listen;
        ws_echo on;
        ws_allowed_origins https://app.example.com;
        ws_limit_rate connection 10r/s;
    }
--- request
GET /ws
--- more_headers
Upgrade: websocket
Connection: Upgrade
Sec-WebSocket-Version: 13
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
Origin: https://evil.example.com
--- error_code: 403
--- access_log eval
qr/^rl=- acl=- id=- code=- in=- status=403$/m
