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

my $port = test_port();
my $ngx = start_nginx(name => 'worker sigkill', log_level => 'info',
    main_config => 'worker_processes 2;', listen_options => 'reuseport',
    http_config => 'ws_zone chaos 4m;', config => <<'CONF');
    location = /sub {
        ws_listen; ws_subscribe room:x;
        add_header X-Worker $pid always;
    }
    location ~ ^/pub/(?<c>[\w:]+)$ { ws_publisher $c; }
CONF

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
        my $ws = ws_connect(port => $port, uri => '/sub');
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
check_logs($ngx, undef, allow => [qr/worker process \d+ exited on signal 9/,
                                  qr/shared memory zone "\w+" was locked by \d+/]);
done_testing();
