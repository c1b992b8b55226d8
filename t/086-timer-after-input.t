# The session's timer is not re-armed after every read: input only moves
# an open session's deadlines later, so the timer armed before is early at
# most, and when it fires with nothing due it is armed again at the real
# deadline. These check that the deadlines still hold once a busy peer
# stops: the idle close and the next ping come one interval after its last
# input, not at the time armed before it got busy, and not never.
use Test::NgxWs;
use Time::HiRes qw(time sleep);

run_tests();

# Echoes a message every 0.1s for $seconds, well past the interval armed
# at the handshake; returns the time of the last echo, or undef if the
# server closed or pinged meanwhile.
sub busy_for {
    my ($ws, $seconds) = @_;
    my $t0 = time;
    my $last;
    for my $i (1 .. $seconds * 10) {
        $ws->send_text("data $i");
        my $m = eval { $ws->read_message(1) };
        return undef unless $m && $m->{op} eq 'text';
        $last = time;
        my $left = $t0 + $i * 0.1 - time;
        sleep $left if $left > 0;
    }
    return $last;
}

# The first frame the server sends by itself, and when it came.
sub next_frame {
    my ($ws, $timeout) = @_;
    my $m = eval { $ws->read_message($timeout) };
    return ($m, time);
}

{
    my $name = 'idle timeout after a busy second';
    my $ngx = start_nginx(name => $name, config => <<'CONF');
    location /ws { ws_listen; ws_echo on; ws_ping_interval 0; ws_idle_timeout 300ms; }
CONF
    my $ws = ws_connect(uri => '/ws');
    my $last = busy_for($ws, 1.2);
    ok(defined $last, "$name - the busy peer stays open for 1.2s");
    my ($m, $at) = next_frame($ws, 3);
    is($m && $m->{op}, 'close', "$name - then it is closed");
    is($m && $m->{code}, 1001, "$name - with 1001");
    my $after = $at - ($last // $at);
    ok($after >= 0.25 && $after < 1.2,
       "$name - one timeout after its last message (${after}s)");
    $ws->disconnect;
    check_logs($ngx);
}

{
    my $name = 'ping after a busy second';
    my $ngx = start_nginx(name => $name, config => <<'CONF');
    location /ws { ws_listen; ws_echo on; ws_ping_interval 400ms; }
CONF
    my $ws = ws_connect(uri => '/ws');
    my $last = busy_for($ws, 1.2);
    ok(defined $last, "$name - no ping while the peer is busy");
    my ($m, $at) = next_frame($ws, 3);
    is($m && $m->{op}, 'ping', "$name - then a ping");
    my $after = $at - ($last // $at);
    ok($after >= 0.35 && $after < 1.3,
       "$name - one interval after its last message (${after}s)");
    $ws->disconnect;
    check_logs($ngx);
}

done_testing();

__DATA__
