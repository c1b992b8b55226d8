# Chaos: workers killed with SIGKILL while they fan out and take
# publishes, ten times over.
#
# The promise (docs/operations.md, "Chaos tests"; NGINX's own design): a
# worker that dies is replaced by the master; the other workers' clients
# are not touched; the shared zone stays usable (NGINX's master releases
# the zone's lock if the dead worker held it), so publishes keep being
# answered, with no deadlock; subscribers of the surviving workers get the
# acknowledged messages in order, once each, none missing. The error log
# has no alert or crit beyond NGINX's own "exited on signal 9" (and its
# "was locked by" when it had to release the zone's lock).
#
# Measured: two workers (reuseport), subscribers on both, a background
# publisher POSTing every 20 ms; each round kills one worker and checks
# the replacement, a publish within a bound, and the survivors.
use Test::NgxWs;
use POSIX ();
use Time::HiRes qw(time sleep);

use constant ROUNDS => 10;
use constant PUBLISH_BOUND => 2;    # seconds a publish may take to answer
use constant PER_WORKER => 2;       # subscribers kept on each worker
use constant FAN_OUT_TIME => 0.5;   # publishing before each kill, seconds
# ws_max_connections of the subscribers: a killed worker's connections
# left counted would fill it within a few rounds
use constant CAP => 12;

my $port = test_port();
my $ngx = start_nginx(name => 'worker sigkill', log_level => 'info',
    main_config => 'worker_processes 2;', listen_options => 'reuseport',
    http_config => 'ws_zone chaos 4m;', config => <<"CONF");
    location = /sub {
        ws_listen; ws_subscribe room:x; ws_max_connections ${\ CAP};
        add_header X-Worker \$pid always;
    }
    location ~ ^/pub/(?<c>[\\w:]+)\$ { ws_publisher \$c; }
    location = /metrics { ws_status; }
CONF

# The zone as ws_status sees it: each gauge summed over its labels.
sub gauges {
    my $res = eval { http_request(port => $port, timeout => 5,
        raw => "GET /metrics HTTP/1.1\r\nHost: localhost\r\n"
             . "Connection: close\r\n\r\n") } // { body => '' };
    my %g;
    for my $name (qw(ngx_ws_connections ngx_ws_channels ngx_ws_workers
                     ngx_ws_zone_free_bytes)) {
        $g{$name} += $1 while $res->{body} =~ /^\Q$name\E(?:\{[^}]*\})? (\d+)$/mg;
    }
    return \%g;
}
# The subscribers of room:x the zone counts, all workers together.
sub subscribers {
    my $res = eval { http_request(port => $port, timeout => 5,
        raw => "GET /pub/room:x HTTP/1.1\r\nHost: localhost\r\n"
             . "Connection: close\r\n\r\n") } // { body => '' };
    return $res->{body} =~ /"subscribers":(\d+)/ ? $1 : -1;
}

# the zone before the kills: room:x exists (channels are kept, with their
# numbers) and has no subscriber
ws_connect(port => $port, uri => '/sub')->disconnect;
wait_for(sub { subscribers() == 0 }, 5);
my $zone_before = gauges();
my $master_rss_before = vm_rss_kb($ngx->{pid});

sub post {
    my ($body, $timeout) = @_;
    my $t = time;
    # a refused or reset connection (a killed worker's) is status 0
    my $res = eval { http_request(port => $port, timeout => $timeout // 5,
        raw => "POST /pub/room:x HTTP/1.1\r\nHost: localhost\r\n"
             . 'Content-Length: ' . length($body)
             . "\r\nConnection: close\r\n\r\n$body") } // { status => 0 };
    return ($res->{status}, time - $t);
}

# The background publisher: "b<n>" every 20 ms; one line per publish
# (n status seconds) in its log, until the file ends.
my $publog = Test::NgxWs::servroot() . '-publisher.log';
my $publisher = fork // die "fork: $!\n";
if ($publisher == 0) {
    open my $fh, '>', $publog or POSIX::_exit(1);
    $fh->autoflush(1);
    my $stop = 0;
    $SIG{TERM} = sub { $stop = 1 };
    for (my $n = 1; !$stop; $n++) {
        my ($status, $took) = post("b$n");
        printf $fh "%d %d %.3f\n", $n, $status, $took;
        sleep 0.02;
    }
    POSIX::_exit(0);
}

my @subs;    # { ws, worker, got => [payloads] }
my @refused; # upgrades of subscribers refused

# Reads a subscriber's messages until $want arrives (or, without $want,
# until a pause in them), the connection ends or $timeout passes.
sub drain {
    my ($s, $want, $timeout) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $m = eval { $s->{ws}->read_message($want ? $deadline - time : 0.3) };
        if (!$m) {
            $s->{closed} = 1 if $@ !~ /timed out/;
            last;
        }
        if ($m->{op} eq 'close') { $s->{closed} = 1; last }
        next unless $m->{op} eq 'text';
        push @{ $s->{got} }, $m->{payload};
        last if defined $want && $m->{payload} eq $want;
    }
}

sub fill_workers {
    my @workers = $ngx->workers;
    for (1 .. 60) {
        my %on;
        $on{$_->{worker}}++ for @subs;
        last unless grep { ($on{$_} // 0) < PER_WORKER } @workers;
        my $ws = eval { ws_connect(port => $port, uri => '/sub') };
        if (!$ws) {
            push @refused, $@;
            last;
        }
        my $w = $ws->{response}{header}{'x-worker'};
        if (($on{$w} // 0) < PER_WORKER) {
            push @subs, { ws => $ws, worker => $w, got => [] };
        } else {
            $ws->disconnect;
        }
    }
}

my ($deadlocks, $replaced, $survivors_ok) = (0, 0, 0);
for my $round (1 .. ROUNDS) {
    fill_workers();
    sleep FAN_OUT_TIME;    # the kill lands while messages fan out
    my @workers = sort $ngx->workers;
    my $victim = $workers[$round % 2];
    kill 'KILL', $victim;
    my $back = wait_for(sub {
        my @now = $ngx->workers;
        @now == 2 && !grep { $_ == $victim } @now }, 5);
    $replaced++ if $back;

    my ($status, $took) = post("m$round", PUBLISH_BOUND + 1);
    $deadlocks++ unless $status == 200 && $took <= PUBLISH_BOUND;

    my @survivors = grep { $_->{worker} != $victim } @subs;
    my $all_marked = 1;
    for my $s (@survivors) {
        drain($s, "m$round", 3);
        $all_marked = 0 unless grep { $_ eq "m$round" } @{ $s->{got} };
        $all_marked = 0 if $s->{closed};
    }
    $survivors_ok++ if $all_marked && @survivors;
    # the victim's subscribers lost their connection with it
    for my $s (grep { $_->{worker} == $victim } @subs) {
        $s->{ws}->disconnect;
        $s->{gone} = 1;
    }
    @subs = grep { !$_->{gone} } @subs;
}
kill 'TERM', $publisher;
waitpid $publisher, 0;
drain($_, undef, 5) for @subs;

is($replaced, ROUNDS, 'the master replaced every killed worker');
is($deadlocks, 0, 'every marker publish after a kill answered 200 within '
                  . PUBLISH_BOUND . ' s');
is($survivors_ok, ROUNDS,
   "the other worker's subscribers stayed open and got the marker each round");

my (%acked, @statuses, $slowest);
open my $fh, '<', $publog or die "$publog: $!\n";
while (<$fh>) {
    my ($n, $status, $took) = split;
    $acked{"b$n"} = 1 if $status == 200;
    push @statuses, $status;
    $slowest = $took if !defined $slowest || $took > $slowest;
}
my @failed = grep { $_ != 200 } @statuses;
cmp_ok(scalar @statuses, '>', 50,
       scalar(@statuses) . ' background publishes during the kills');
ok(!grep({ $_ != 0 } @failed),
   'background publishes answered 200 or lost their connection with a '
   . 'killed worker (' . scalar(@failed) . ' of ' . scalar(@statuses)
   . ' failed: ' . join(',', @failed) . ')');
cmp_ok($slowest, '<=', PUBLISH_BOUND,
       sprintf('no background publish took longer than %d s (slowest %.2f s)',
               PUBLISH_BOUND, $slowest // -1));

# Every subscriber still open at the end: the background messages in
# order, once each, and none acknowledged missing between its first and
# its last.
my @order_errors;
for my $s (@subs) {
    my @b = map { /^b(\d+)$/ ? $1 : () } @{ $s->{got} };
    for my $i (1 .. $#b) {
        push @order_errors, "$b[$i - 1] then $b[$i]" if $b[$i] <= $b[$i - 1];
    }
    next unless @b;
    my %got = map { $_ => 1 } @b;
    for my $n ($b[0] .. $b[-1]) {
        push @order_errors, "b$n acknowledged, not received"
            if $acked{"b$n"} && !$got{$n};
    }
}
my $received = 0;
$received += grep { /^b\d+$/ } @{ $_->{got} } for @subs;
ok(@subs >= PER_WORKER, scalar(@subs) . ' subscribers open at the end, '
                        . "$received background messages received by them");
ok(!@order_errors, 'their messages in order, once each, none acknowledged '
                   . 'missing') or diag(join "\n", @order_errors[0 .. 9]);

my @kill_lines = $ngx->error_log =~ /(exited on signal 9)/g;
is(scalar @kill_lines, ROUNDS, 'the error log has one "exited on signal 9" '
                              . 'per kill');
my @locked = $ngx->error_log =~ /(was locked by)/g;
note(scalar(@locked) . ' kills found the zone locked (released by the master)');
note(sprintf 'measured: %d publishes, %d failed, slowest %.3f s',
     scalar @statuses, scalar @failed, $slowest // -1);
$_->{ws}->disconnect for @subs;

# The zone once every client has gone: what the killed workers held in it
# (their subscriptions, their connections in the gauge, their slots) is
# given back, so it looks as it did before the first client.
my $zone_after;
wait_for(sub { $zone_after = gauges();
               $zone_after->{ngx_ws_connections} == 0
               && subscribers() == 0
               && $zone_after->{ngx_ws_channels}
                  == $zone_before->{ngx_ws_channels}
               && $zone_after->{ngx_ws_zone_free_bytes}
                  >= $zone_before->{ngx_ws_zone_free_bytes} }, 5);
note('zone before: ' . join(', ', map { "$_ $zone_before->{$_}" }
                                     sort keys %$zone_before));
note('zone after:  ' . join(', ', map { "$_ $zone_after->{$_}" }
                                     sort keys %$zone_after));
is(subscribers(), 0, 'room:x counts no subscriber (the killed workers\' '
                     . 'subscriptions not counted forever)');
is($zone_after->{ngx_ws_connections}, 0,
   'the connections gauge back to 0 (the killed workers\' sessions not '
   . 'counted forever)');
is($zone_after->{ngx_ws_channels}, $zone_before->{ngx_ws_channels},
   'no channel leaked by the killed workers (room:x was there before)');
is($zone_after->{ngx_ws_workers}, 2, 'two workers writing counters');
cmp_ok($zone_after->{ngx_ws_zone_free_bytes}, '>=',
       $zone_before->{ngx_ws_zone_free_bytes},
       'the zone\'s free pages back to where they were before the first '
       . "client ($zone_before->{ngx_ws_zone_free_bytes} bytes, now "
       . "$zone_after->{ngx_ws_zone_free_bytes})");
ok(!@refused, 'no subscriber refused during the rounds (' . scalar(@refused)
              . ')') or diag($refused[0]);
my @full = grep { $_ } map { eval { ws_connect(port => $port, uri => '/sub') } }
                          1 .. CAP + 1;
is(scalar @full, CAP, 'after the kills, ws_max_connections ' . CAP
                      . ' lets in ' . CAP . ' clients, as before them');
$_->disconnect for @full;
my $master_rss = vm_rss_kb($ngx->{pid});
cmp_ok($master_rss - $master_rss_before, '<=', 1024,
       "the master's RSS flat over " . ROUNDS . " kills: $master_rss_before"
       . " kB -> $master_rss kB");

check_logs($ngx, undef, allow => [qr/worker process \d+ exited on signal 9/,
                                  qr/connections, the ws_max_connections limit, refusing/,
                                  qr/shared memory zone "\w+" was locked by \d+/]);
done_testing();
