# The request of a WebSocket is freed once the 101 is out (issue 7: memory
# per idle connection), and the access-log line is written at close from a
# record of it. stub_status shows which: a request still held counts as
# "Writing", a freed one does not. Where another module holds the request
# (limit_conn), it is kept and that module still works.
use Test::NgxWs;

my $status_location = '    location = /status { stub_status; }';

sub writing {
    my $res = http_request(raw => "GET /status HTTP/1.1\r\nHost: t\r\n"
                                  . "Connection: close\r\n\r\n");
    my ($n) = $res->{body} =~ /Writing: (\d+)/;
    return $n // -1;
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
    $ws->send_text('after');
    $ws->expect('text after', "$name - the session goes on");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    $ws->expect_eof($name);
    check_logs($ngx);
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
    ws_connect(uri => '/ws', expect_status => 503);
    pass("$name - a second connection is refused");
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

done_testing();
