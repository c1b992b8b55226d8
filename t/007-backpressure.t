# Back-pressure: a client that sends to the echo and never reads makes the
# server stop reading it (log line), the worker's memory stays bounded, and
# everything is delivered once the client reads again. A client that
# never reads is ended by the heartbeat.
use Test::NgxWs;
use Errno qw(EAGAIN EWOULDBLOCK);
use IO::Select;
use Time::HiRes qw(time sleep);

my $port2 = test_port() + 1;

{
    my $name = 'reader that stops reading';
    my $ngx = start_nginx(name => $name, log_level => 'info', http_config => <<'CONF');
    server {
        listen 127.0.0.1:$port2 sndbuf=16k;
        location /ws { ws_listen; ws_echo on; ws_send_buffer 256k; }
    }
CONF
    my ($worker) = $ngx->workers;
    my $ws = ws_connect(port => $port2, uri => '/ws', rcvbuf => 16384);
    my $rss_before = vm_rss_kb($worker);

    my $msg_len = 16384;
    my $want_msgs = 2000;                      # 32 MiB if nothing pushed back
    my $payload = gen_payload('binary', $msg_len);
    my $sock = $ws->{sock};
    $sock->blocking(0);

    my ($sent_msgs, $sent_bytes, $pending) = (0, 0, '');
    my $stalled_since;
    while ($sent_msgs < $want_msgs || length $pending) {
        if (!length $pending) {
            $pending = Test::NgxWs::Client::encode_frame(op => 2, payload => $payload);
            $sent_msgs++;
        }
        my $n = syswrite($sock, $pending);
        if (defined $n && $n > 0) {
            substr($pending, 0, $n, '');
            $sent_bytes += $n;
            undef $stalled_since;
            next;
        }
        die "write failed: $!" unless $! == EAGAIN || $! == EWOULDBLOCK;
        $stalled_since //= time;
        last if time - $stalled_since > 1;
        IO::Select->new($sock)->can_write(0.1);
    }
    my $rss_after = vm_rss_kb($worker);
    note("sent $sent_bytes bytes ($sent_msgs messages started) before the stall; "
         . "worker VmRSS $rss_before kB -> $rss_after kB");
    ok($sent_msgs < $want_msgs, "$name - the server stopped reading "
                                 . "($sent_bytes bytes accepted)");
    ok($sent_bytes < 8 * 1024 * 1024, "$name - bytes accepted stay under 8 MiB");
    ok($rss_after - $rss_before < 16 * 1024,
       "$name - worker VmRSS grew by less than 16 MiB ("
       . ($rss_after - $rss_before) . " kB)");
    ok(wait_for(sub { $ngx->error_log =~ /\*\d+ ws: output over high-water mark, pausing reads/ }, 3),
       "$name - error.log has: ws: output over high-water mark, pausing reads");

    # now read everything back while finishing the last frame
    my ($got, $bad) = (0, 0);
    my $deadline = time + 20;
    my $sel = IO::Select->new($sock);
    while ($got < $sent_msgs && time < $deadline) {
        if (length $pending) {
            my $n = syswrite($sock, $pending);
            substr($pending, 0, $n, '') if $n;
        }
        my $m = eval { $ws->read_message(0.05) };
        next unless $m;
        if ($m->{op} eq 'binary') {
            $got++;
            $bad++ if $m->{payload} ne $payload;
        } else {
            diag('unexpected ' . Test::NgxWs::describe($m));
            last;
        }
    }
    is($got, $sent_msgs, "$name - reads resumed, every message echoed");
    is($bad, 0, "$name - echoed payloads intact");
    $sock->blocking(1);
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    $ws->expect_eof($name);
    check_logs($ngx);
}

{
    # A client that writes without pause and reads slowly sends the output
    # back and forth between the marks (reads paused, resumed, paused...):
    # the log says once that it fell behind and once that it caught up.
    my $name = 'slow reader: one line when behind, one when drained';
    my $ngx = start_nginx(name => $name, log_level => 'info', http_config => <<'CONF');
    server {
        listen 127.0.0.1:$port2 sndbuf=16k;
        location /ws { ws_listen; ws_echo on; ws_send_buffer 1m; }
    }
CONF
    my $ws = ws_connect(port => $port2, uri => '/ws', rcvbuf => 16384);
    my $frame = Test::NgxWs::Client::encode_frame(op => 2,
                                                  payload => gen_payload('binary', 4096));
    my $sock = $ws->{sock};
    $sock->blocking(0);
    my ($sent, $pending, $got, $buf) = (0, '', 0, '');
    my $read_some = sub {
        my ($max) = @_;
        my $n = sysread($sock, my $chunk, $max);
        return 0 unless $n;
        $buf .= $chunk;
        # whole echoes: 2-byte header + 2-byte length + 4096 bytes
        while (length $buf >= 4100) { substr($buf, 0, 4100, ''); $got++ }
        return $n;
    };
    my $until = time + 3;
    while (time < $until) {
        for (1 .. 64) {
            $pending = $frame, $sent++ unless length $pending;
            my $n = syswrite($sock, $pending);
            last unless $n;
            substr($pending, 0, $n, '');
        }
        $read_some->(32768);
        sleep 0.01;
    }
    note("$sent messages sent, $got echoed while writing");
    my $count = sub {
        my ($log) = @_;
        return (scalar(() = $log =~ /ws: output over high-water mark, pausing reads/g),
                scalar(() = $log =~ /ws: output drained, reads resumed/g));
    };
    my ($pauses, $drains) = $count->($ngx->error_log);
    is($pauses, 1, "$name - one pause line while the client was behind")
        or diag(join "\n", $ngx->error_log =~ /^(.*ws: output (?:over|drained).*)$/mg);
    is($drains, 0, "$name - and no drained line");
    # finish the last frame, then read everything back
    while (length $pending) {
        my $n = syswrite($sock, $pending);
        substr($pending, 0, $n, '') if $n;
        $read_some->(65536);
    }
    my $deadline = time + 20;
    while ($got < $sent && time < $deadline) {
        $read_some->(65536) or IO::Select->new($sock)->can_read(0.1);
    }
    is($got, $sent, "$name - every message echoed");
    ok(wait_for(sub { $ngx->error_log =~ /ws: output drained, reads resumed/ }, 3),
       "$name - error.log has: output drained, reads resumed");
    # reading back may fill and drain the output once more: each time in
    # one line each
    ($pauses, $drains) = $count->($ngx->error_log);
    is($drains, $pauses, "$name - as many drained lines as pause lines ($pauses)");
    $sock->blocking(1);
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    $ws->expect_eof($name);
    check_logs($ngx);
}

{
    # Paused, the server no longer reads the client's pongs either, so a
    # client that never reads is ended by the heartbeat: memory stays
    # bounded and the connection does not linger.
    my $name = 'client that never reads is dropped by the heartbeat';
    my $ngx = start_nginx(name => $name, log_level => 'info', http_config => <<'CONF');
    server {
        listen 127.0.0.1:$port2 sndbuf=8k;
        location /ws {
            ws_listen; ws_echo on; ws_send_buffer 4k;
            ws_ping_interval 200ms; ws_ping_max_missed 1; ws_close_timeout 300ms;
        }
    }
CONF
    my $ws = ws_connect(port => $port2, uri => '/ws', rcvbuf => 4096);
    my $frames = join '', map {
        Test::NgxWs::Client::encode_frame(op => 2, payload => gen_payload('binary', 3000))
    } 1 .. 40;
    $ws->{sock}->blocking(0);
    syswrite($ws->{sock}, $frames);
    ok(wait_for(sub { $ngx->error_log =~ /\*\d+ ws: output over high-water mark, pausing reads/ }, 5),
       "$name - error.log has: pausing reads");
    ok(wait_for(sub { $ngx->error_log =~ /\*\d+ ws: peer missed 1 pings, closing with 1001/ }, 5),
       "$name - error.log has: peer missed 1 pings, closing with 1001");
    ok(wait_for(sub { $ngx->error_log =~ /\*\d+ ws: close handshake timed out/ }, 5),
       "$name - error.log has: close handshake timed out");
    ok(wait_for(sub { $ngx->error_log =~ /\*\d+ ws: connection closed, code 1001/ }, 5),
       "$name - the connection was closed with code 1001");
    $ws->disconnect;
    check_logs($ngx);
}

done_testing();
