# The request of a WebSocket is freed once the 101 is out (to save memory
# per idle connection), and the access-log line is written at close from a
# record of it. stub_status shows which: a request still held counts as
# "Writing", a freed one does not. Sessions with a token are freed too, the
# token's state kept by the session (user channel, claims, expiry,
# refresh); a request still needed for a while (a token awaited as the
# first message, a 101 the socket did not take at once) is freed once
# that is over. Where another module holds the request (limit_conn), it is
# kept and that module still works.
use Test::NgxWs;
use Test::NgxWsJwt;
use File::Temp qw(tempdir);

my $status_location = '    location = /status { stub_status; }';

sub writing {
    my $res = http_request(raw => "GET /status HTTP/1.1\r\nHost: t\r\n"
                                  . "Connection: close\r\n\r\n");
    my ($n) = $res->{body} =~ /Writing: (\d+)/;
    return $n // -1;
}

# After the request is freed the session still echoes, then closes cleanly
# and leaves a clean error log.
sub goes_on_then_closes {
    my ($ws, $ngx, $name) = @_;
    $ws->send_text('after');
    $ws->expect('text after', "$name - the session goes on");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    $ws->expect_eof($name);
    check_logs($ngx);
}

{
    my $name = 'an idle WebSocket holds no request';
    my $ngx = start_nginx(name => $name, config => <<CONF);
    location /ws { ws_listen; ws_echo on; }
$status_location
CONF
    my $ws = ws_connect(uri => '/ws');
    $ws->send_text('before');
    $ws->expect('text before', $name);
    # the status request itself is the one writing
    is(writing(), 1, "$name - only the status request is writing");
    goes_on_then_closes($ws, $ngx, $name);
}

{
    my $name = 'large headers, a rewrite and a set variable reach the line';
    my $ngx = start_nginx(name => $name, http_config => <<'CONF', config => <<CONF2);
    log_format ws '[$request] $status uri=$uri ruri=$request_uri '
                  'tag=$http_x_tag v=$v len=$request_length in=$ws_messages_in';
    access_log logs/access.log ws;
CONF
    location /old/ { rewrite ^/old/(.*)\$ /ws/\$1 last; }
    location /ws/ { set \$v "val-\$arg_a"; ws_listen; ws_echo on; }
$status_location
CONF2
    # more than client_header_buffer_size: NGINX's large header buffers
    my $big = 'b' x 3000;
    my $ws = ws_connect(uri => '/old/x?a=1',
                        headers => "X-Big: $big\nX-Tag: tagged\n");
    $ws->send_text('one');
    $ws->expect('text one', $name);
    is(writing(), 1, "$name - the request was freed");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    $ws->expect_eof($name);
    ok(wait_for(sub { $ngx->access_log =~ /tag=/ }, 3), "$name - logged");
    like($ngx->access_log,
         qr{^\[GET /old/x\?a=1 HTTP/1\.1\] 101 uri=/ws/x ruri=/old/x\?a=1 tag=tagged v=val-1 len=3\d\d\d in=1$}m,
         "$name - the line is the one the request would have written");
    check_logs($ngx);
}

{
    my $name = 'limit_conn keeps the request and still counts';
    my $ngx = start_nginx(name => $name,
                          http_config => '    limit_conn_zone $binary_remote_addr zone=perip:1m;',
                          config => <<CONF);
    location /ws { limit_conn perip 1; ws_listen; ws_echo on; }
$status_location
CONF
    my $ws = ws_connect(uri => '/ws');
    $ws->send_text('held');
    $ws->expect('text held', $name);
    is(writing(), 2, "$name - the WebSocket's request is still there");
    is(ws_handshake_answer(uri => '/ws')->{status}, 503,
       "$name - a second connection is refused");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    $ws->expect_eof($name);
    ok(wait_for(sub { writing() == 1 }, 3), "$name - released at close");
    my $again = ws_connect(uri => '/ws');
    $again->send_close(1000);
    $again->expect('close 1000', "$name - a new connection is let in");
    $again->expect_eof($name);
    check_logs($ngx);
}

{
    my $name = 'a session with a token holds no request';
    my $dir = tempdir(CLEANUP => 1);
    my $secret = 'S' x 32;
    open my $fh, '>', "$dir/hs256.secret" or die $!;
    print $fh "$secret\n";
    close $fh;
    my $hs = sub { jwt_token(alg => 'HS256', secret => $secret, claims => shift) };
    my $ngx = start_nginx(name => $name, log_level => 'info', http_config => <<'CONF', config => <<CONF2);
    ws_zone jwt 1m;
    log_format jwt 'user=$ws_user role=$ws_jwt_claim_role code=$ws_close_code uri=$uri';
    access_log logs/access.log jwt;
CONF
    location = /json {
        ws_listen; ws_protocol json; ws_channels_allow room:* lobby;
        ws_auth_jwt on; ws_auth_jwt_key HS256 $dir/hs256.secret;
        ws_auth_jwt_channels_claim channels;
    }
    location = /first {
        ws_listen; ws_echo on;
        ws_auth_jwt on; ws_auth_jwt_key HS256 $dir/hs256.secret;
        ws_auth_first_message on; ws_auth_timeout 30s;
    }
    location = /firstjson {
        ws_listen; ws_protocol json; ws_channels_allow room:*;
        ws_auth_jwt on; ws_auth_jwt_key HS256 $dir/hs256.secret;
        ws_auth_first_message on; ws_auth_timeout 30s;
    }
    location ~ ^/pub/(?<ch>.+)\$ { ws_publisher \$ch; }
$status_location
CONF2
    my $publish = sub {
        my ($ch, $body) = @_;
        return http_request(raw => "POST /pub/$ch HTTP/1.1\r\nHost: x\r\n"
            . "Connection: close\r\nContent-Length: " . length($body)
            . "\r\n\r\n$body");
    };

    my $ws = ws_connect(uri => '/json', headers => 'Authorization: Bearer '
        . $hs->(json_obj(sub => 'ann', role => 'reader', channels => ['room:*'],
                         exp => time + 3600)) . "\n");
    $ws->send_text('{"op":"subscribe","id":1,"channel":"room:a"}');
    $ws->expect('text {"op":"ack","id":1}', "$name - subscribed");
    is(writing(), 1, "$name - the request was freed");

    like($publish->('user:ann', 'for-ann')->{body}, qr/"subscribers":1\b/,
         "$name - the user channel is still joined");
    $ws->expect('text {"op":"message","channel":"user:ann","seq":1,"data":"for-ann"}',
                "$name - and delivers");
    $ws->send_text('{"op":"subscribe","id":2,"channel":"lobby"}');
    $ws->expect('text {"op":"error","id":2,"code":"forbidden","message":"channel not allowed by the token"}',
                "$name - the token's channel claim still applies");

    # a refresh replaces the claims the session keeps
    $ws->send_text('{"op":"auth","id":3,"token":"'
        . $hs->(json_obj(sub => 'ann', role => 'editor', channels => ['room:*', 'lobby'],
                         exp => time + 7200)) . '"}');
    $ws->expect('text {"op":"ack","id":3}', "$name - a refresh is taken");
    $ws->send_text('{"op":"subscribe","id":4,"channel":"lobby"}');
    $ws->expect('text {"op":"ack","id":4}', "$name - with the new token's claims");
    $ws->send_text('{"op":"auth","id":5,"token":"'
        . $hs->(json_obj(sub => 'bob', exp => time + 7200)) . '"}');
    $ws->expect('text {"op":"error","id":5,"code":"unauthorized","message":"token is for another user"}',
                "$name - still for the same user only");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    $ws->expect_eof($name);
    ok(wait_for(sub { $ngx->access_log =~ /uri=\/json/ }, 3), "$name - logged");
    like($ngx->access_log, qr{^user=ann role=editor code=1000 uri=/json$}m,
         "$name - \$ws_user and the refreshed claims in the access log");

    # the expiry is the session's: it closes a session without a request
    my $short = ws_connect(uri => '/json', headers => 'Authorization: Bearer '
        . $hs->(json_obj(sub => 'cid', role => 'brief', exp => time + 2)) . "\n");
    $short->send_text('{"op":"subscribe","id":1,"channel":"room:b"}');
    $short->expect('text {"op":"error","id":1,"code":"forbidden","message":"channel not allowed by the token"}',
                   "$name - no channel claim, no channels");
    is(writing(), 1, "$name - a short token's request was freed too");
    $short->expect('close 1008 token expired', "$name - it expires with 1008");
    $short->send_close(1008);
    $short->expect_eof($name);
    ok(wait_for(sub { $ngx->access_log =~ /^user=cid role=brief code=1008 uri=\/json$/m }, 8),
       "$name - the expired session's line");

    # a token awaited as the first message: the request waits for it only
    my $first = ws_connect(uri => '/first');
    is(writing(), 2, "$name - the request waits for the first-message token");
    $first->send_text($hs->(json_obj(sub => 'dot', role => 'late', exp => time + 600)));
    $first->send_text('after the token');
    $first->expect('text after the token', "$name - the token is taken");
    ok(wait_for(sub { writing() == 1 }, 3),
       "$name - then the request is freed");
    like($publish->('user:dot', 'for-dot')->{body}, qr/"subscribers":1\b/,
         "$name - the first-message user's channel is joined");
    $first->expect('text for-dot', "$name - and delivers");
    $first->send_close(1000);
    $first->expect('close 1000', $name);
    $first->expect_eof($name);
    ok(wait_for(sub { $ngx->access_log =~ /^user=dot role=late code=1000 uri=\/first$/m }, 3),
       "$name - the first-message user in the access log");

    # a first-message token's claims, then a refresh of them, without the
    # request; the session still open when NGINX quits
    my $fj = ws_connect(uri => '/firstjson');
    $fj->send_text('{"op":"auth","id":1,"token":"'
        . $hs->(json_obj(sub => 'eli', role => 'first', exp => time + 600)) . '"}');
    $fj->expect('text {"op":"ack","id":1}', "$name - a JSON first-message token");
    ok(wait_for(sub { writing() == 1 }, 3), "$name - its request is freed");
    $fj->send_text('{"op":"auth","id":2,"token":"'
        . $hs->(json_obj(sub => 'eli', role => 'second', exp => time + 900)) . '"}');
    $fj->expect('text {"op":"ack","id":2}', "$name - refreshed");
    $ngx->signal('QUIT');
    # the user channel's number up to which the session got everything
    $fj->expect('text {"op":"going_away","channel":"user:eli","last_seq":0}',
                "$name - quit tells where to resume");
    $fj->expect('close 1001', "$name - quit closes the session");
    $fj->send_close(1001);
    $fj->expect_eof($name);
    my $pid = $ngx->{pid};
    ok(wait_for(sub { !Test::NgxWs::Nginx::alive($pid) }, 5), "$name - nginx exited");
    like($ngx->access_log, qr{^user=eli role=second code=1001 uri=/firstjson$}m,
         "$name - the refreshed claims in the line written at quit");
    $ngx->{stopped} = 1;
    check_logs($ngx);
}

{
    my $name = 'a 101 the socket did not take at once';
    # headers the 101 repeats: far more than the 4 KiB send and receive
    # buffers take, so the first write leaves most of the 101 queued
    my $pads = join '', map { "add_header X-Pad$_ \$http_x_pad always; " } 1 .. 8;
    my $ngx = start_nginx(name => $name, listen_options => 'sndbuf=4k',
                          http_config => '    large_client_header_buffers 4 16k;',
                          config => <<CONF);
    location /ws { ws_listen; ws_echo on; $pads}
$status_location
CONF
    my $ws = ws_connect(uri => '/ws', rcvbuf => 4096,
                        headers => 'X-Pad: ' . ('p' x 14000) . "\n");
    cmp_ok(length $ws->{response}{head}, '>', 8 * 14000,
           "$name - the 101 was large");
    $ws->send_text('through');
    $ws->expect('text through', "$name - the session works");
    ok(wait_for(sub { writing() == 1 }, 3),
       "$name - the request is freed once the 101 is out");
    goes_on_then_closes($ws, $ngx, $name);
}

{
    # No log line, no record of the request: freed all the same, and a
    # location that logs beside it still gets its line.
    my $name = 'a location with access_log off';
    my $ngx = start_nginx(name => $name, http_config => <<'CONF', config => <<CONF2);
    log_format ws 'uri=$uri code=$ws_close_code';
    access_log logs/access.log ws;
CONF
    location /quiet { access_log off; ws_listen; ws_echo on; }
    location /loud { ws_listen; ws_echo on; }
$status_location
CONF2
    my $quiet = ws_connect(uri => '/quiet');
    $quiet->send_text('q');
    $quiet->expect('text q', $name);
    is(writing(), 1, "$name - the request was freed");
    my $loud = ws_connect(uri => '/loud');
    $loud->send_text('l');
    $loud->expect('text l', "$name - beside it");
    is(writing(), 1, "$name - the logged location's request was freed");
    $loud->send_close(1000);
    $loud->expect('close 1000', "$name - beside it");
    goes_on_then_closes($quiet, $ngx, $name);
    ok(wait_for(sub { $ngx->access_log =~ m{^uri=/loud code=1000$}m }, 3),
       "$name - the location that logs has its line");
    unlike($ngx->access_log, qr{/quiet}, "$name - the quiet one has none");
}

done_testing();
