# Chaos: a client that vanishes without a FIN or a reset.
#
# The promise (docs/directives.md, ws_ping_max_missed; docs/protocol.md,
# "Timeouts of each state"): an open connection is closed after
# ws_ping_interval x (ws_ping_max_missed + 1) of silence, with 1001 and a
# log line "ws: peer missed N pings, closing with 1001"; once the server
# has sent its close, it waits at most ws_close_timeout before dropping
# the TCP connection. So a client whose packets all vanish is gone from
# the server (its connection, its file descriptor, its place in the
# ngx_ws_connections gauge) within interval x (missed + 1) +
# ws_close_timeout.
#
# Measured with real packets: NGINX in a network namespace of its own, the
# client in another, a veth pair between them; the client first answers
# pings (and stays), then nft drops every packet into and out of its
# namespace.
use Test::NgxWs;
use Test::NgxWs::Netns;
use Time::HiRes qw(time sleep);

my $why = Test::NgxWs::Netns::unavailable();
plan(skip_all => "network namespaces unavailable: $why") if $why;

use constant PING_INTERVAL => 0.5;
use constant MAX_MISSED => 2;
use constant CLOSE_TIMEOUT => 0.5;
# timer granularity and a loaded machine
use constant MARGIN => 0.5;

my $srv = Test::NgxWs::Netns::create('s');
my $cli = Test::NgxWs::Netns::create('c');
my ($srv_ip, $cli_ip) = Test::NgxWs::Netns::link($srv, $cli);
my $port = test_port();

my $ngx = Test::NgxWs::Netns::in_ns($srv, sub {
    start_nginx(name => 'client vanishes', log_level => 'info',
        http_config => 'ws_zone chaos 1m;', config => <<"CONF") });
        listen $srv_ip:$port;
        location = /ws {
            ws_listen; ws_echo on;
            ws_ping_interval ${\ (PING_INTERVAL * 1000)}ms;
            ws_ping_max_missed ${\ MAX_MISSED};
            ws_close_timeout ${\ (CLOSE_TIMEOUT * 1000)}ms;
        }
        location = /metrics { ws_status; }
CONF
my ($worker) = $ngx->workers;

sub metric {
    my ($name, $location) = @_;
    my $res = Test::NgxWs::Netns::in_ns($srv, sub {
        http_request(raw => "GET /metrics HTTP/1.1\r\nHost: localhost\r\n"
                            . "Connection: close\r\n\r\n") });
    my $labels = $location ? qr/\{[^}]*location="\Q$location\E"[^}]*\}/
                           : qr/(?:\{[^}]*\})?/;
    return $res->{body} =~ /^\Q$name\E$labels (\d+)$/m ? $1 : undef;
}

sub fd_count {
    opendir my $dh, "/proc/$worker/fd" or return -1;
    return scalar grep { /^\d+$/ } readdir $dh;
}

# after a first request, so that only the client's descriptor differs
metric('ngx_ws_connections', '/ws');
my $fds_before;
wait_for(sub { my $n = fd_count(); my $same = ($fds_before // -2) == $n;
               $fds_before = $n; $same }, 2);
my $ws = Test::NgxWs::Netns::in_ns($cli, sub {
    ws_connect(host => $srv_ip, port => $port, uri => '/ws') });
is(metric('ngx_ws_connections', '/ws'), 1, 'the gauge counts the client');
ok(wait_for(sub { fd_count() == $fds_before + 1 }, 2),
   "the worker holds one more descriptor ($fds_before before the client)");

# A client that answers stays: the heartbeat is not what closes it.
my ($pings, $closed) = (0, 0);
my $deadline = time + PING_INTERVAL * (MAX_MISSED + 1) * 2;
while (time < $deadline) {
    my $m = eval { $ws->read_message($deadline - time) } or last;
    if ($m->{op} eq 'ping') { $pings++; $ws->send_pong($m->{payload}) }
    $closed = 1 if $m->{op} eq 'close';
}
ok($pings >= 2 && !$closed,
   "a client answering pings stays open ($pings pings answered)");

# Now every packet of the client's namespace is dropped: no FIN, no RST.
Test::NgxWs::Netns::partition($cli);
my $t0 = time;
# A ping the server sent between the loop's end and the rule is already in
# the client's socket buffer: it came before the drop, so it is read and
# set aside here; the check at the end is about what came after.
my @before_drop;
while (my $m = eval { $ws->read_message(0.05) }) { push @before_drop, $m->{op} }
note(scalar(@before_drop) . " message(s) had reached the client before the "
     . "drop: @before_drop");
my $promised = PING_INTERVAL * (MAX_MISSED + 1);
my $missed = qr/ws: peer missed ${\ MAX_MISSED} pings, closing with 1001/;

ok(wait_for(sub { $ngx->error_log =~ $missed }, $promised + MARGIN + 3),
   'the close by the heartbeat is logged');
my $t_logged = time - $t0;
cmp_ok($t_logged, '<=', $promised + MARGIN,
       sprintf('closed by the heartbeat %.2f s after the drop (promise: '
               . '%.1f s + %.1f s margin)', $t_logged, $promised, MARGIN));

my $gone = wait_for(sub { (metric('ngx_ws_connections', '/ws') // -1) == 0 },
                    $promised + CLOSE_TIMEOUT + MARGIN + 3);
my $t_gone = time - $t0;
ok($gone, 'the connections gauge drops back to 0');
cmp_ok($t_gone, '<=', $promised + CLOSE_TIMEOUT + MARGIN,
       sprintf('the connection is released %.2f s after the drop (promise: '
               . '%.1f s + ws_close_timeout %.1f s + %.1f s margin)',
               $t_gone, $promised, CLOSE_TIMEOUT, MARGIN));
ok(wait_for(sub { fd_count() == $fds_before }, 2),
   'the worker released the descriptor (' . fd_count()
   . " open, $fds_before before the client)");
is(metric('ngx_ws_ping_timeouts_total'), 1,
   'ngx_ws_ping_timeouts_total counts the one vanished client');
# the fault was real: nothing of the server's reached the client, not
# even its close frame (without the drop rule, the close 1001 is read here)
my $seen = eval { $ws->read_message(0.3) };
my @not_ping = grep { $_ ne 'ping' } @before_drop;
ok(!$seen && !@not_ping, 'the client saw nothing after the drop: '
           . ($seen ? "got $seen->{op}"
              : @not_ping ? "got @not_ping as the rule went in"
              : 'no close frame, no FIN'));
note(sprintf 'measured: logged after %.2f s, released after %.2f s',
     $t_logged, $t_gone);

$ws->disconnect;
check_logs($ngx);
done_testing();
