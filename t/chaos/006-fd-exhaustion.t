# Chaos: a worker whose file descriptors run out (worker_rlimit_nofile far
# under worker_connections) under a storm of connections.
#
# The promise (docs/directives.md, ws_reserve_connections; docs/
# operations.md, "Chaos tests"):
# - a storm of upgrades is refused cleanly, with 503 and Retry-After,
#   before descriptors run out: the reserve counts free descriptors as
#   well as free connections, so no client is left hanging unanswered;
# - the open WebSockets go on throughout;
# - the refusals are logged once when the worker goes under its reserve
#   and once when it is back, not once per refused client;
# - when the storm stops, upgrades are taken again; no crash.
# A storm of bare TCP connections that never send a request exhausts the
# descriptors whatever the module does (NGINX accepts them before any
# module sees a byte): then NGINX's own handling is measured: accept()
# fails with EMFILE, logged by NGINX at crit on each retry (every
# accept_mutex_delay, 500 ms), new clients wait in the listen queue, the
# open WebSockets go on, and the queued clients are served once the storm
# goes.
#
# Measured on loopback: one worker, worker_rlimit_nofile 128,
# worker_connections 1024, ws_reserve_connections 16.
use Test::NgxWs;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

use constant NOFILE => 128;
use constant RESERVE => 16;
use constant STEADY => 10;          # WebSockets open throughout
use constant STORM => 200;          # upgrades, then bare connections
use constant ANSWER_WITHIN => 3;    # seconds an upgrade may wait
use constant RECOVERY_BOUND => 3;   # seconds to serve again after a storm

$SIG{PIPE} = 'IGNORE';
my $port = test_port();
my $ngx = start_nginx(name => 'fd exhaustion', log_level => 'info',
    main_config => 'worker_processes 1; worker_rlimit_nofile '
                   . NOFILE . ";\nevents { worker_connections 1024; }",
    http_config => 'ws_zone chaos 1m;', config => <<"CONF");
        location = /ws {
            ws_listen; ws_echo on;
            ws_reserve_connections ${\ RESERVE};
        }
CONF
my ($worker) = $ngx->workers;

sub fd_count {
    opendir my $dh, "/proc/$worker/fd" or return -1;
    return scalar grep { /^\d+$/ } readdir $dh;
}

sub count_lines {
    my ($re) = @_;
    return scalar grep { $_ =~ $re } split /\n/, $ngx->error_log;
}

my @steady = map { ws_connect(uri => '/ws') } 1 .. STEADY;
my $steady_ok = 1;
sub steady_echo {
    my ($tag) = @_;
    for my $i (0 .. $#steady) {
        $steady[$i]->send_text("$tag $i");
        my $m = eval { $steady[$i]->read_message(5) };
        $steady_ok = 0 unless $m && $m->{payload} eq "$tag $i";
    }
}

# An upgrade attempt: (status, the client) — status 0 when no answer came
# within ANSWER_WITHIN (the client left in the listen queue), -1 when the
# connection failed.
sub upgrade {
    my $ws = eval { Test::NgxWs::Client->new(port => $port,
                                             timeout => ANSWER_WITHIN) }
        or return (-1);
    my $res = $ws->handshake("GET /ws HTTP/1.1\n");
    $res = $ws->finish_http_response($res)
        if $res->{status} && $res->{status} != 101;
    return ($res->{status}, $ws, $res);
}

# ---- a storm of upgrades, each held open ----
my $under = qr/ws: \d+ free connections in this worker, under ws_reserve_connections/;
my $again = qr/ws: \d+ free connections in this worker again/;
my (@held, %status, $retry_after_ok, $min_free_fds);
$retry_after_ok = 1;
my $t_storm = time;
for (1 .. STORM) {
    my ($status, $ws, $res) = upgrade();
    $status{$status}++;
    if ($status == 101) {
        push @held, $ws;
    } else {
        $retry_after_ok = 0
            if $status == 503 && ($res->{header}{'retry-after'} // '') ne '10';
        # a refused client goes away, as a real one does
        $ws->disconnect if $ws;
    }
    my $free = NOFILE - fd_count();
    $min_free_fds = $free if !defined $min_free_fds || $free < $min_free_fds;
    last if ($status{0} // 0) + ($status{-1} // 0) >= 3;
}
my $storm_took = time - $t_storm;
note('upgrade storm: ' . join(', ', map { "$_: $status{$_}" }
                                        sort keys %status)
     . sprintf(' in %.1f s', $storm_took));
steady_echo('during');

cmp_ok($status{503} // 0, '>', 0, 'the storm of upgrades was refused with '
       . '503 (' . ($status{503} // 0) . ' of them), after '
       . scalar(@held) . ' were taken');
ok($retry_after_ok, 'each 503 with Retry-After: 10');
ok(!$status{0} && !$status{-1}, 'no upgrade left unanswered or refused at '
   . 'the TCP level (' . ($status{0} // 0) . ' unanswered within '
   . ANSWER_WITHIN . ' s, ' . ($status{-1} // 0) . ' not connected)');
cmp_ok($min_free_fds, '>', 0, "the worker never ran out of descriptors "
       . "(fewest free: $min_free_fds of " . NOFILE . ')');
ok($steady_ok, 'the ' . STEADY . ' open WebSockets echoed after the storm');
is(count_lines($under), 1, 'the reserve reached: logged once for '
   . ($status{503} // 0) . ' refusals');
is(count_lines(qr/accept4?\(\) failed/), 0, 'accept() never failed');

# ---- the storm stops ----
$_->disconnect for @held;
@held = ();
my $t_stop = time;
my ($back, $client);
ok(wait_for(sub {
       my ($status, $ws) = upgrade();
       $back = $status == 101;
       $client = $ws if $back;
       $ws->disconnect if $ws && !$back;
       $back }, RECOVERY_BOUND),
   sprintf('upgrades taken again %.2f s after the storm stopped',
           time - $t_stop));
is(count_lines($again), 1, 'and that logged once');
$client->disconnect if $client;

# ---- a storm of bare connections: the descriptors run out ----
my $fd_before = fd_count();
my @bare;
for (1 .. STORM) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 2) or last;
    push @bare, $s;
}
ok(wait_for(sub { count_lines(qr/accept4?\(\) failed \(24: Too many open files\)/) }, 5),
   'bare connections: NGINX\'s accept() fails with EMFILE ('
   . scalar(@bare) . ' connections made)');
# a client now waits in the listen queue
my $queued = Test::NgxWs::Client->new(port => $port, timeout => 15);
Test::NgxWs::write_all($queued->{sock},
    "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
    . "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
sleep 2;
steady_echo('exhausted');
ok($steady_ok, 'the open WebSockets echoed while descriptors were out');
my $accept_lines = count_lines(qr/accept4?\(\) failed/);
note("NGINX logged accept() failed $accept_lines times over the 2 s the "
     . 'descriptors were out (its own retry, every accept_mutex_delay)');

$_->close for @bare;
@bare = ();
my $t_free = time;
my $answer = eval {
    my $buf = '';
    my $deadline = time + 15;
    Test::NgxWs::read_some($queued->{sock}, \$buf, $deadline)
        until $buf =~ /\r\n\r\n/;
    $buf };
ok(($answer // '') =~ m{^HTTP/1.1 101}, sprintf(
   'the client queued during the exhaustion was upgraded %.2f s after the '
   . 'storm went', time - $t_free));
cmp_ok(time - $t_free, '<=', RECOVERY_BOUND, 'within ' . RECOVERY_BOUND . ' s');
$queued->disconnect;
ok(wait_for(sub { fd_count() <= $fd_before }, 5),
   "the worker's descriptors back to $fd_before (" . fd_count() . ')');

steady_echo('after');
ok($steady_ok, 'the open WebSockets echoed after both storms');
is(join(' ', $ngx->workers), $worker, 'the same worker throughout (no crash)');

$_->disconnect for @steady;
check_logs($ngx, undef,
           allow => [qr/accept4?\(\) failed \(24: Too many open files\)/]);
done_testing();
