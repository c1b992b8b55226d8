# A worker delivers its own publishes in the loop pass that read them:
# pipelined POSTs read together are answered, then delivered to every
# subscriber in one write each, without a wakeup through the worker's
# eventfd (a write(), an epoll_wait() and a read() per pass, and a pass
# later). Observed with strace on the worker: counts of system calls, not
# times, so the checks do not depend on the machine's speed. Messages of
# one channel next to each other are given to each subscriber in one walk;
# a subscriber of two channels still gets them in publish order.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::Strace;
use Time::HiRes qw(sleep time);


my $port = test_port();
my $rounds = 4;
my $pipelined = 5;
my $subscribers = 3;      # of channel a, and one of a and b

my $ngx = start_nginx(name => 'fan-out in the same pass',
    # writes seen as write(), writev() and sendto(): not through a ring,
    # whose batching t/117 checks
    http_config => "ws_zone pass 1m;\n    keepalive_requests 1000;\n"
                 . "    ws_io_uring off;",
    config => <<'CONF');
    location ~ ^/sub/(?<ch>\w+)$ { ws_listen; ws_subscribe pass:$ch; }
    location = /both { ws_listen; ws_subscribe pass:a pass:b; }
    location ~ ^/pub/(?<ch>\w+)$ { ws_publisher pass:$ch; }
CONF

my ($worker) = $ngx->workers(1);
ok($worker, 'one worker');

my @subs = map { ws_connect(uri => '/sub/a') } 1 .. $subscribers;
my $both = ws_connect(uri => '/both');
push @subs, $both;

# the worker's eventfds (the wakeups between workers)
my %eventfd;
opendir my $dh, "/proc/$worker/fd" or die "fd of $worker: $!";
for my $fd (grep { /^\d+$/ } readdir $dh) {
    my $to = readlink("/proc/$worker/fd/$fd") // '';
    $eventfd{$fd} = 1 if $to =~ /eventfd/;
}
closedir $dh;
ok(scalar(keys %eventfd), 'the worker has its eventfds');

my $trace = Test::NgxWs::Strace->follow($worker, 'write,writev,sendto', '-s', 4096);
if (!$trace) {
    $ngx->stop;
    plan skip_all => $Test::NgxWs::Strace::why_not;
}

my $pub = Test::NgxWs::open_socket(port => $port);
my $bad = 0;
for my $r (1 .. $rounds) {
    my $out = '';
    for my $m (1 .. $pipelined) {
        my $body = "round$r-message$m";
        $out .= "POST /pub/a HTTP/1.1\r\nHost: localhost\r\n"
              . "Content-Length: " . length($body) . "\r\n\r\n$body";
    }
    # one write: the worker reads the whole pipeline at once
    Test::NgxWs::write_all($pub, $out);
    my $buf = '';
    my $until = time + 10;
    while ((() = $buf =~ /HTTP\/1\.1 200/g) < $pipelined && time < $until) {
        last unless eval { Test::NgxWs::read_some($pub, \$buf, $until) };
    }
    is(scalar(() = $buf =~ /HTTP\/1\.1 200/g), $pipelined,
       "round $r - $pipelined pipelined publishes answered");
    for my $i (0 .. $#subs) {
        for my $m (1 .. $pipelined) {
            my $msg = $subs[$i]->read_message(10);
            my $want = "round$r-message$m";
            if (!$msg || $msg->{payload} ne $want) {
                $bad++;
                diag("subscriber $i: want $want, got "
                     . ($msg ? $msg->{payload} : 'nothing'));
            }
        }
    }
}
is($bad, 0, 'every subscriber got every message, in order');

# Runs of a and of b pipelined together: each subscriber gets its
# channels' messages in publish order.
my @mixed = qw(a a b a a a b b a b);
my $out = '';
for my $m (0 .. $#mixed) {
    my $body = "mixed-$mixed[$m]-$m";
    $out .= "POST /pub/$mixed[$m] HTTP/1.1\r\nHost: localhost\r\n"
          . "Content-Length: " . length($body) . "\r\n\r\n$body";
}
Test::NgxWs::write_all($pub, $out);
my @got_both = map { my $m = $both->read_message(10); $m ? $m->{payload} : '' } @mixed;
is_deeply(\@got_both, [map { "mixed-$mixed[$_]-$_" } 0 .. $#mixed],
          'a subscriber of a and b gets both in publish order');
my @of_a = grep { $mixed[$_] eq 'a' } 0 .. $#mixed;
my @got_a = map { my $m = $subs[0]->read_message(10); $m ? $m->{payload} : '' } @of_a;
is_deeply(\@got_a, [map { "mixed-a-$_" } @of_a],
          'a subscriber of a gets a\'s messages in order');

my @calls = $trace->stop;

my (%writes_of, $wakeups);
$wakeups = 0;
for my $line (@calls) {
    next unless $line =~ /^(write|writev|sendto)\((\d+),/;
    my ($call, $fd) = ($1, $2);
    $wakeups++ if $call eq 'write' && $eventfd{$fd};
    # write() is the error log's; sockets are written with send()/writev()
    next if $call eq 'write' || $line !~ /round(\d+)-message/;
    my $round = $1;
    # what one write to a subscriber carried, by round
    my @carried = $line =~ /round\d+-message(\d+)/g;
    push @{ $writes_of{$round} }, join(',', @carried);
}

is($wakeups, 0, 'no wakeup through the eventfd for the worker\'s own publishes');
my $all = join(',', 1 .. $pipelined);
for my $r (1 .. $rounds) {
    is_deeply($writes_of{$r} // [], [($all) x ($subscribers + 1)],
              "round $r - one write per subscriber with all $pipelined messages");
}

$_->send_close(1000) for @subs;
check_logs($ngx);

done_testing();
