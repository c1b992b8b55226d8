# Heartbeats: the server pings every ws_ping_interval; a peer that misses
# ws_ping_max_missed of them is closed with 1001; any frame from the peer
# counts as alive. ws_idle_timeout closes a peer that sends no data message.
use Test::NgxWs;
use Time::HiRes qw(time sleep);

run_tests();

# Reads messages until a close frame or EOF; returns (pings seen, close).
sub read_until_close {
    my ($ws, $timeout) = @_;
    my ($pings, $close) = (0, undef);
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $m = eval { $ws->read_message($deadline - time) } or last;
        $pings++ if $m->{op} eq 'ping';
        if ($m->{op} eq 'close') { $close = $m; last }
    }
    return ($pings, $close);
}

# True when the session is open now: a ping of our own comes back as its
# pong. A close frame, a reset or an EOF (which a count of close frames
# would miss) and silence all give false. The server's own pings on the
# way are answered.
sub still_open {
    my ($ws) = @_;
    my $probe = 'probe ' . int rand 1e9;
    $ws->send_ping($probe);
    my $deadline = time + 3;
    while (time < $deadline) {
        my $m = eval { $ws->read_message($deadline - time) } or return 0;
        return 1 if $m->{op} eq 'pong' && $m->{payload} eq $probe;
        return 0 if $m->{op} eq 'close';
        $ws->send_pong($m->{payload}) if $m->{op} eq 'ping';
    }
    return 0;
}

{
    my $name = 'silent peer is closed after missed pings';
    my $ngx = start_nginx(name => $name, config => <<'CONF');
    location /ws {
        ws_listen; ws_echo on;
        ws_ping_interval 200ms;
        ws_ping_max_missed 2;
    }
CONF
    my $ws = ws_connect(uri => '/ws');
    my $t0 = time;
    my ($pings, $close) = read_until_close($ws, 3);
    ok($pings >= 2, "$name - got $pings pings before the close");
    is($close && $close->{code}, 1001, "$name - close 1001");
    my $took = time - $t0;
    ok($took >= 0.35 && $took < 2, "$name - closed after ${took}s");
    $ws->expect_eof($name);
    ok(wait_for(sub { $ngx->error_log =~ /\*\d+ ws: peer missed 2 pings, closing with 1001/ }, 3),
       "$name - error.log has: ws: peer missed 2 pings, closing with 1001");
    check_logs($ngx);
}

{
    my $name = 'peer that answers pings stays';
    my $ngx = start_nginx(name => $name, config => <<'CONF');
    location /ws {
        ws_listen; ws_echo on;
        ws_ping_interval 200ms;
        ws_ping_max_missed 2;
    }
CONF
    my $ws = ws_connect(uri => '/ws');
    my ($pings, $closed) = (0, 0);
    my $deadline = time + 1.5;
    while (time < $deadline) {
        my $m = eval { $ws->read_message($deadline - time) };
        last unless $m;
        if ($m->{op} eq 'ping') { $pings++; $ws->send_pong($m->{payload}) }
        $closed = 1 if $m->{op} eq 'close';
    }
    ok($pings >= 4, "$name - $pings pings answered in 1.5s");
    ok(!$closed && still_open($ws), "$name - not closed");
    $ws->send_text('still open');
    my $m;
    do { $m = $ws->read_message } while ($m && $m->{op} eq 'ping');
    is($m && $m->{payload}, 'still open', "$name - echo still works");
    $ws->disconnect;
    check_logs($ngx);
}

{
    my $name = 'any frame counts as alive (text instead of pong)';
    my $ngx = start_nginx(name => $name, config => <<'CONF');
    location /ws {
        ws_listen;
        ws_ping_interval 200ms;
        ws_ping_max_missed 2;
    }
CONF
    my $ws = ws_connect(uri => '/ws');
    my $closed = 0;
    my $deadline = time + 1.2;
    while (time < $deadline) {
        $ws->send_text('tick');
        my $m = eval { $ws->read_message(0.1) };
        $closed = 1 if $m && $m->{op} eq 'close';
    }
    ok(!$closed && still_open($ws), "$name - not closed in 1.2s");
    $ws->disconnect;
    check_logs($ngx);
}

{
    # The server level pings every 200ms: were "ws_ping_interval 0" ignored,
    # /off would inherit that and ping within the wait (the 30s default
    # could not tell). /on shows the inherited interval at work.
    my $name = 'ws_ping_interval 0 sends no pings';
    my $ngx = start_nginx(name => $name, config => <<'CONF');
    ws_ping_interval 200ms;
    location /on { ws_listen; ws_echo on; }
    location /off { ws_listen; ws_echo on; ws_ping_interval 0; }
CONF
    my $on = ws_connect(uri => '/on');
    my $m = eval { $on->read_message(1) };
    is($m && $m->{op}, 'ping', "$name - the server-level 200ms pings where not overridden");
    $on->disconnect;
    my $ws = ws_connect(uri => '/off');
    $m = eval { $ws->read_message(1) };
    ok(!$m && $@ =~ /timed out/, "$name - nothing in 1s")
        or diag($m ? "got $m->{op}" : "read: $@");
    ok(still_open($ws), "$name - and the session is open");
    $ws->disconnect;
    check_logs($ngx);
}

{
    my $name = 'idle timeout';
    my $ngx = start_nginx(name => $name, config => <<'CONF');
    location /ws { ws_listen; ws_echo on; ws_ping_interval 0; ws_idle_timeout 300ms; }
CONF
    my $ws = ws_connect(uri => '/ws');
    my $t0 = time;
    my ($pings, $close) = read_until_close($ws, 3);
    my $took = time - $t0;
    is($close && $close->{code}, 1001, "$name - silent peer gets close 1001");
    ok($took >= 0.25 && $took < 1.5, "$name - after ${took}s");
    $ws->expect_eof($name);
    ok(wait_for(sub { $ngx->error_log =~ /\*\d+ ws: idle timeout, closing with 1001/ }, 3),
       "$name - error.log has: ws: idle timeout, closing with 1001");

    # data messages keep the connection; pings alone do not. The echo
    # comes back at once, so the pace is kept by the clock: one message
    # every 0.1s for 0.8s, well past the 300ms timeout.
    $ws = ws_connect(uri => '/ws');
    my $closed = 0;
    $t0 = time;
    for my $i (1 .. 8) {
        $ws->send_text('data');
        my $m = eval { $ws->read_message(0.1) };
        $closed = 1 if $m && $m->{op} eq 'close';
        my $left = $t0 + $i * 0.1 - time;
        sleep $left if $left > 0;
    }
    ok(!$closed && still_open($ws), "$name - peer sending data every 0.1s stays for 0.8s");
    $ws->disconnect;

    $ws = ws_connect(uri => '/ws');
    $close = undef;
    my $deadline = time + 2;
    while (time < $deadline && !$close) {
        $ws->send_ping('p');
        my $m = eval { $ws->read_message(0.1) };
        $close = $m if $m && $m->{op} eq 'close';
    }
    is($close && $close->{code}, 1001, "$name - peer sending only pings is closed 1001");
    $ws->disconnect;
    check_logs($ngx);
}

done_testing();

__DATA__

=== TEST 1: the server pings on its own every ws_ping_interval
--- config
    location /ws { ws_listen; ws_echo on; ws_ping_interval 200ms; }
--- ws_expect
ping *
ping *
--- timeout: 1
