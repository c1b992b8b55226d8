# Chaos: fan-out over a slow, lossy link between the clients and the node.
#
# The promise (README, docs/channels.md): a channel's messages reach each
# subscriber in the order they were acknowledged, once each, none missing,
# as long as the subscriber stays connected and keeps up (ws_send_buffer,
# ws_slow_consumer); a link that loses and delays packets makes delivery
# late, never wrong; the heartbeat does not close a client that answers
# its pings late.
#
# Measured with real packets: NGINX (two workers) in a network namespace,
# the subscribers in another, a veth pair between them. Where the kernel
# has tc netem, each direction is delayed by 100 ms (200 ms round trip)
# and loses 5% of its packets; where it has not (some VM kernels lack
# sch_netem), nft drops a random 5% of the packets each way and the link
# has no added delay (TCP's retransmission timeout, 200 ms at least, is
# then the only delay). The publisher POSTs over the node's loopback, so
# each message is acknowledged whatever the link does.
use Test::NgxWs;
use Test::NgxWs::Netns;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

my $why = Test::NgxWs::Netns::unavailable();
plan(skip_all => "network namespaces unavailable: $why") if $why;

use constant SUBSCRIBERS => 20;
use constant MESSAGES => 300;
use constant PUBLISH_EVERY => 0.01;   # seconds between publishes
use constant LOSS => 5;               # percent of packets, each way
use constant ONE_WAY_DELAY => 100;    # ms, each way, with netem
use constant DELIVERY_BOUND => 30;    # seconds to deliver the last one

my $srv = Test::NgxWs::Netns::create('s');
my $cli = Test::NgxWs::Netns::create('c');
my ($srv_ip, $cli_ip, $srv_dev, $cli_dev) =
    Test::NgxWs::Netns::link($srv, $cli);
my $port = test_port();

my $netem = Test::NgxWs::Netns::has_netem();
note($netem ? 'tc netem: ' . ONE_WAY_DELAY . ' ms each way, ' . LOSS
              . '% loss each way'
            : 'no tc netem in this kernel: ' . LOSS . '% loss each way by '
              . 'nft, no added delay');

my $ngx = Test::NgxWs::Netns::in_ns($srv, sub {
    start_nginx(name => 'lossy link', log_level => 'info',
        main_config => 'worker_processes 2;', listen_options => 'reuseport',
        http_config => 'ws_zone chaos 4m;', config => <<"CONF") });
        listen $srv_ip:$port reuseport;
        location = /sub {
            ws_listen; ws_protocol json; ws_channels_allow room:*;
            ws_subscribe room:x;
            ws_ping_interval 2s; ws_ping_max_missed 2;
            add_header X-Worker \$pid always;
        }
        location ~ ^/pub/(?<c>[\\w:]+)\$ { ws_publisher \$c; }
CONF

# the subscribers connect over the clean link, then it turns bad
my (@subs, %per_worker);
for (1 .. SUBSCRIBERS) {
    my $ws = Test::NgxWs::Netns::in_ns($cli, sub {
        ws_connect(host => $srv_ip, port => $port, uri => '/sub',
                   timeout => 15) });
    my $w = $ws->{response}{header}{'x-worker'};
    $per_worker{$w}++;
    push @subs, { ws => $ws, got => [], seqs => [] };
}
note('subscribers per worker: '
     . join(', ', map { "$_: $per_worker{$_}" } sort keys %per_worker));

if ($netem) {
    Test::NgxWs::Netns::netem($srv, $srv_dev,
                              'delay ' . ONE_WAY_DELAY . 'ms loss ' . LOSS . '%');
    Test::NgxWs::Netns::netem($cli, $cli_dev,
                              'delay ' . ONE_WAY_DELAY . 'ms loss ' . LOSS . '%');
} else {
    Test::NgxWs::Netns::lossy($cli, LOSS);
}

# a connection made over the bad link takes at least a round trip
my $t = time;
my $probe = Test::NgxWs::Netns::in_ns($cli, sub {
    ws_connect(host => $srv_ip, port => $port, uri => '/sub', timeout => 15) });
my $handshake = time - $t;
$probe->disconnect;

# The publisher, in the node's namespace over loopback: "m<n>" every
# PUBLISH_EVERY; one line per publish (n status) in its log.
my $publog = Test::NgxWs::servroot() . '-publisher.log';
my $publisher = fork // die "fork: $!\n";
if ($publisher == 0) {
    Test::NgxWs::Netns::in_ns($srv, sub {
        open my $fh, '>', $publog or POSIX::_exit(1);
        $fh->autoflush(1);
        for my $n (1 .. MESSAGES) {
            my $res = eval { http_request(port => $port, timeout => 5,
                raw => "POST /pub/room:x HTTP/1.1\r\nHost: localhost\r\n"
                     . 'Content-Length: ' . length("m$n")
                     . "\r\nConnection: close\r\n\r\nm$n") } // { status => 0 };
            print $fh "$n $res->{status}\n";
            sleep PUBLISH_EVERY;
        }
    });
    POSIX::_exit(0);
}
my $t_start = time;

# Every subscriber is read in turn (pings answered) until each has the
# last message, its connection ends, or the bound passes.
my $publisher_done = 0;
my $t_published;
while (time - $t_start < DELIVERY_BOUND + MESSAGES * PUBLISH_EVERY * 3) {
    if (!$publisher_done && waitpid($publisher, POSIX::WNOHANG()) > 0) {
        $publisher_done = 1;
        $t_published = time;
    }
    my $pending = 0;
    for my $s (@subs) {
        next if $s->{done} || $s->{closed};
        $pending++;
        while (1) {
            my $m = eval { $s->{ws}->read_message(0.02) };
            if (!$m) {
                $s->{closed} = $@ || 'EOF' if !$@ || $@ !~ /timed out/;
                last;
            }
            if ($m->{op} eq 'ping') { $s->{ws}->send_pong($m->{payload}); next }
            if ($m->{op} eq 'close') { $s->{closed} = "close $m->{code}"; last }
            my $o = eval { decode_json($m->{payload}) } or next;
            next unless ($o->{op} // '') eq 'message';
            push @{ $s->{got} }, $o->{data};
            push @{ $s->{seqs} }, $o->{seq};
            if ($o->{data} eq 'm' . MESSAGES) { $s->{done} = time; last }
        }
    }
    last if !$pending && $publisher_done;
}
kill 'KILL', $publisher unless $publisher_done;
waitpid $publisher, 0 unless $publisher_done;

my $dropped = $netem
    ? Test::NgxWs::Netns::netem_dropped($srv, $srv_dev)
      + Test::NgxWs::Netns::netem_dropped($cli, $cli_dev)
    : Test::NgxWs::Netns::dropped($cli);

my %acked;
open my $fh, '<', $publog or die "$publog: $!\n";
while (<$fh>) {
    my ($n, $status) = split;
    $acked{"m$n"} = 1 if $status == 200;
}
is(scalar keys %acked, MESSAGES, 'every publish acknowledged (loopback)');
cmp_ok($dropped, '>', 0, "the link dropped packets ($dropped)");
if ($netem) {
    cmp_ok($handshake, '>=', 2 * ONE_WAY_DELAY / 1000,
           sprintf('a handshake over the link took a round trip at least '
                   . '(%.3f s)', $handshake));
}

my (@closed, @wrong, $slowest);
for my $i (0 .. $#subs) {
    my $s = $subs[$i];
    push @closed, "subscriber $i: $s->{closed}" if $s->{closed};
    my $want = join ' ', grep { $acked{$_} } map { "m$_" } 1 .. MESSAGES;
    my $got = join ' ', @{ $s->{got} };
    push @wrong, "subscriber $i: " . scalar(@{ $s->{got} }) . ' messages'
        if $got ne $want;
    my @q = @{ $s->{seqs} };
    push @wrong, "subscriber $i: sequence numbers not consecutive"
        if grep { $q[$_] != $q[$_ - 1] + 1 } 1 .. $#q;
    my $took = ($s->{done} // time) - ($t_published // time);
    $slowest = $took if !defined $slowest || $took > $slowest;
}
ok(!@closed, 'every subscriber stayed connected (heartbeat answered late '
             . 'is no cause to close)') or diag(join "\n", @closed);
ok(!@wrong, 'every subscriber got every acknowledged message in order, '
            . 'once each, none missing') or diag(join "\n", @wrong);
cmp_ok($slowest, '<=', DELIVERY_BOUND,
       sprintf('the last message reached the slowest subscriber %.2f s '
               . 'after the last publish', $slowest));
note(sprintf 'measured: %d subscribers x %d messages, %d packets dropped, '
     . 'handshake %.3f s, last delivery %.2f s after the last publish',
     SUBSCRIBERS, MESSAGES, $dropped, $handshake, $slowest);

$_->{ws}->disconnect for @subs;
check_logs($ngx);
done_testing();
