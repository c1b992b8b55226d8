# A reload while a session's close handshake is over but its last frames
# are not out: the client sent its close, and the answer waits behind
# messages the client has not read yet. The old worker must keep the
# session until they are written, for at most ws_close_timeout, like a
# close of its own (docs/operations.md, "Reloads and shutdown"): it must
# neither leave at once, dropping the queue and the answer with the
# socket, nor wait for the session's heartbeat (nor does a worker that is
# not exiting).
use Test::NgxWs;
use Test::More;
use Time::HiRes qw(time sleep);

my $close_timeout = 2;          # seconds, ws_close_timeout below
my $margin = 3;                 # a slow or sanitized run's scheduling
my $messages = 100;             # 6.4 MB: more than the sockets' buffers
my $size = 65536;

my $port = test_port();

sub publish_all {
    my $body = 'x' x $size;
    for my $i (1 .. $messages) {
        my $res = http_request(port => $port, raw => "POST /pub/room:0 HTTP/1.1\r\n"
            . "Host: t\r\nContent-Length: $size\r\nConnection: close\r\n\r\n$body");
        return 0 unless $res->{status} =~ /^20\d$/;
    }
    return 1;
}

# The session has read the client's close while its output is queued.
sub close_read_output_queued {
    my ($ngx, $ws, $name) = @_;
    $ws->send_close(1000);
    ok(wait_for(sub { $ngx->error_log =~ /ws: peer closed with 1000/ }, 5),
       "$name - the server read the client's close");
    unlike($ngx->error_log, qr/ws: connection closed/,
           "$name - its answer is still queued: the session is open");
}

# $timeout: ws_close_timeout in seconds
sub start {
    my ($name, $timeout) = @_;
    return start_nginx(name => $name, log_level => 'info',
        main_config => 'worker_processes 1;',
        http_config => 'ws_zone closeanswer 8m;',
        config => <<"CONF");
    location = /sub {
        ws_listen;
        ws_subscribe room:0;
        ws_close_timeout ${timeout}s;
        ws_send_buffer 16m;
    }
    location ~ ^/pub/(?<c>[\\w:]+)\$ {
        ws_publisher \$c;
        client_max_body_size 1m;
        client_body_buffer_size 1m;
    }
CONF
}

{
    # a close timeout that a slow run cannot reach while the client reads
    my $name = 'a client that reads after the reload';
    my $ngx = start($name, 10);
    my ($worker) = $ngx->workers;
    my $ws = ws_connect(uri => '/sub', rcvbuf => 4096, timeout => 20);
    ok(publish_all(), "$name - $messages messages of $size bytes published");
    close_read_output_queued($ngx, $ws, $name);

    $ngx->signal('HUP');
    # the old worker has been told to go before the client reads
    ok(wait_for(sub { Test::NgxWs::Nginx::alive($worker)
                      && $ngx->error_log =~ /\b$worker#\d+: gracefully shutting down/ }, 10),
       "$name - the old worker is shutting down");
    sleep 0.3;

    my ($got, $bad) = (0, 0);
    while ($got < $messages) {
        my $m = eval { $ws->read_message(10) } or last;
        last if $m->{op} ne 'text';
        $bad++ if length $m->{payload} != $size;
        $got++;
    }
    is($got, $messages, "$name - every message queued before the close arrives");
    is($bad, 0, "$name - whole");
    $ws->expect('close 1000', $name);
    $ws->expect_eof($name, 0, 5);
    ok(wait_for(sub { !Test::NgxWs::Nginx::alive($worker) }, 5),
       "$name - then the old worker exits");
    check_logs($ngx);
}

{
    my $name = 'a client that never reads';
    my $ngx = start($name, $close_timeout);
    my ($worker) = $ngx->workers;
    my $ws = ws_connect(uri => '/sub', rcvbuf => 4096);
    ok(publish_all(), "$name - $messages messages of $size bytes published");
    close_read_output_queued($ngx, $ws, $name);

    my $log_before = length $ngx->error_log;
    my $t0 = time;
    $ngx->signal('HUP');
    my $gone = wait_for(sub { !Test::NgxWs::Nginx::alive($worker) },
                        $close_timeout + $margin + 10);
    my $took = time - $t0;
    ok($gone, "$name - the old worker exited");
    cmp_ok($took, '>=', $close_timeout - 0.2,
           "$name - after waiting for the flush (${took} s)");
    cmp_ok($took, '<', $close_timeout + $margin,
           "$name - within ws_close_timeout ${close_timeout}s + ${margin}s");
    like(substr($ngx->error_log, $log_before),
         qr/\b$worker#\d+: \*\d+ ws: close handshake timed out/,
         "$name - it gave up on the flush, and says so");
    check_logs($ngx);
}

{
    # no reload: the same wait ends at ws_close_timeout, not at the next
    # heartbeat (ws_ping_interval, 30s by default)
    my $name = 'no reload, a client that never reads';
    my $ngx = start($name, $close_timeout);
    my $ws = ws_connect(uri => '/sub', rcvbuf => 4096);
    ok(publish_all(), "$name - $messages messages of $size bytes published");
    my $t0 = time;
    close_read_output_queued($ngx, $ws, $name);
    ok(wait_for(sub { $ngx->error_log =~ /ws: connection closed/ },
                $close_timeout + $margin + 30),
       "$name - the session ends");
    my $took = time - $t0;
    cmp_ok($took, '<', $close_timeout + $margin,
           "$name - within ws_close_timeout ${close_timeout}s + ${margin}s "
           . "(${took} s)");
    like($ngx->error_log, qr/ws: close handshake timed out/,
         "$name - it gave up on the flush, and says so");
    check_logs($ngx);
}

done_testing();
