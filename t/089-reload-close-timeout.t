# A reload while a subscriber never answers the old worker's 1001: the
# old worker waits for the close handshake, and no longer than
# ws_close_timeout (docs/operations.md, "Reloads and shutdown"). The
# session's timer is what keeps the exiting worker alive (a non-cancelable
# timer while closing) and what ends the wait.
#
# Both kinds of worker: an ordinary one, which owns a queue slot in
# ws_zone (its channels' going_away cuts the zone's numbers under the
# zone's lock before the 1001), and one started while every slot was held
# by old workers (no slot: its own publishes are delivered in place, it
# takes no cut). Each with and without publishes: one before the reload,
# whose message sits unread in the client's socket buffer, and one while
# the old worker waits for the close answer (made in the new worker, so
# it reaches the old one through the zone when the old one has a slot).
# With ws_close_timeout 1s, and once with its default, 5s, in the shape of
# t/027's last reload (a worker without a slot, a publish before).
use Test::NgxWs;
use Test::More;
use Test::NgxWs::HeldWorkers;
use Time::HiRes qw(time sleep);

my $margin = 3;                 # a slow or sanitized run's scheduling

my $port = test_port();
# requests held by old workers keep their queue slots taken
my $hold = Test::NgxWs::HeldWorkers->new(port => $port + 1);

# $close_timeout: seconds for ws_close_timeout, undef for its default (5s)
sub config {
    my ($close_timeout) = @_;
    my $directive = defined $close_timeout
                    ? "ws_close_timeout ${close_timeout}s;" : '';
    return <<"CONF" . $hold->location;
    location = /sub {
        ws_listen;
        ws_subscribe room:0;
        $directive
    }
    location ~ ^/pub/(?<c>[\\w:]+)\$ { ws_publisher \$c; }
CONF
}

sub shutting_down { Test::NgxWs::HeldWorkers::shutting_down(@_) }

# A process's state, its wait channel and its system call with arguments
# (epoll_wait's timeout decoded), from /proc.
sub process_state {
    my ($pid) = @_;
    my ($state) = Test::NgxWs::slurp("/proc/$pid/stat") =~ /^\d+ \(.*\) (\S)/s;
    my $wchan = Test::NgxWs::slurp("/proc/$pid/wchan");
    my $syscall = Test::NgxWs::slurp("/proc/$pid/syscall");
    chomp $syscall;
    my @call = split ' ', $syscall;
    # x86_64's epoll_wait and epoll_pwait: the timeout, a signed int
    if (@call > 4 && ($call[0] eq '232' || $call[0] eq '281')) {
        my $ms = hex($call[4]) & 0xffffffff;
        $ms -= 2**32 if $ms >= 2**31;
        $syscall = "epoll_wait, timeout $ms ms";
    }
    return sprintf 'state %s, wchan %s, syscall %s', $state // '?',
                   $wchan || '?', $syscall || '?';
}

sub publish {
    my ($text) = @_;
    my $res = http_request(port => $port, raw => "POST /pub/room:0 HTTP/1.1\r\n"
        . "Host: t\r\nContent-Length: " . length($text)
        . "\r\nConnection: close\r\n\r\n$text");
    return $res->{status};
}

sub run_case {
    my (%o) = @_;
    my $close_timeout = $o{close_timeout} // 5;
    my $name = ($o{slot} ? 'a worker with a queue slot' : 'a worker without one')
               . ($o{publish} ? ', publishes before and during the close'
                              : ', no publish')
               . (defined $o{close_timeout} ? ", ws_close_timeout ${close_timeout}s"
                                            : ', the default ws_close_timeout');
    my $alert = qr/no free queue slot in ws_zone/;

    my $ngx = start_nginx(name => $name, log_level => 'info',
                          main_config => 'worker_processes 1;',
                          http_config => 'ws_zone closewait 1m;',
                          config => config($o{close_timeout}));
    my $master = $ngx->{pid};
    my ($worker) = $ngx->workers;

    unless ($o{slot}) {
        # every slot (16 for one worker process) held by an old worker
        $worker = $hold->hold_then_reload($ngx, $port) for 1 .. 16;
        ok(wait_for(sub { $ngx->error_log =~ $alert }, 5),
           "$name - the last worker started without a slot");
        # the old workers go: the one without a slot is the only worker
        $hold->release;
        ok(wait_for(sub { Test::NgxWs::worker_pids($master) == 1 }, 15),
           "$name - the old workers that held the slots exited");
    }
    unlike($ngx->error_log, $alert, "$name - the worker has a slot")
        if $o{slot};

    my $ws = ws_connect(uri => '/sub', no_close_reply => 1);
    my $owner = Test::NgxWs::socket_owner($ws, Test::NgxWs::worker_pids($master));
    is($owner, $worker, "$name - the subscriber is served by that worker");

    if ($o{publish}) {
        like(publish('before'), qr/^20\d$/, "$name - a publish before the reload");
    }

    my $log_before = length $ngx->error_log;
    my $t0 = time;
    $ngx->signal('HUP');

    # the 1001 is out once the old worker logged it
    ok(wait_for(sub { substr($ngx->error_log, $log_before)
                          =~ /\b$worker#\d+: \*\d+ ws: server shutting down, closing with 1001/ }, 10),
       "$name - the old worker sent the 1001");
    if ($o{publish}) {
        # the new worker serves it; an old worker with a slot gets it too
        my $new;
        wait_for(sub { ($new) = grep { $_ != $worker && !shutting_down($_) }
                                     Test::NgxWs::worker_pids($master);
                       $new }, 10);
        like(publish('during'), qr/^20\d$/, "$name - a publish while it waits");
    }

    my $gone = wait_for(sub { !Test::NgxWs::Nginx::alive($worker) },
                        $close_timeout + $margin);
    # past the bound: what the worker is doing, for a run that cannot be
    # repeated (asleep in epoll_wait with a far timer, or blocked elsewhere)
    my $state = $gone ? '' : process_state($worker);
    $gone ||= wait_for(sub { !Test::NgxWs::Nginx::alive($worker) }, 10);
    my $took = time - $t0;
    ok($gone, "$name - the old worker exited");
    cmp_ok($took, '>=', $close_timeout - 0.2,
           "$name - after waiting for the close answer (${took} s)");
    cmp_ok($took, '<', $close_timeout + $margin,
           "$name - within the close timeout + ${margin}s");
    my $log = substr($ngx->error_log, $log_before);
    like($log, qr/\b$worker#\d+: \*\d+ ws: close handshake timed out/,
         "$name - it says the close handshake timed out");
    diag("$name: the old worker at the bound: $state\n"
         . "its lines after the reload:\n"
         . join("\n", grep { /\b$worker#/ } split /\n/, $log))
        if $state;

    # what the client got: the message published before, then the 1001,
    # then the end of the connection (nothing published after the 1001)
    $ws->expect('text before', $name) if $o{publish};
    $ws->expect('close 1001', $name);
    $ws->expect_eof($name, 0, 5);

    check_logs($ngx, undef, allow => [$alert, qr/upstream prematurely closed/]);
}

for my $slot (1, 0) {
    for my $publish (0, 1) {
        run_case(slot => $slot, publish => $publish, close_timeout => 1);
    }
}
# the shape of t/027's last reload, which a CI run once saw outlive it
run_case(slot => 0, publish => 1);

done_testing();
