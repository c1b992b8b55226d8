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
# the subscribers in another, and between them a point-to-point link
# whose every packet passes through a relay process (Netns.pm slow_link:
# a tun device at each end) that holds it 100 ms in each direction, 200 ms
# round trip, the same on every kernel (tc netem, the usual tool, is not
# in every kernel, this machine's included); nft drops a random 5% of the
# packets each way at the subscribers' end. The kernel's own view of the
# link (ss: the server's smoothed round-trip time and retransmissions per
# connection) is recorded. The heartbeat pings every 150 ms of silence,
# less than the round trip, so each pong arrives after the next ping has
# gone out; ws_ping_max_missed leaves room for retransmitted pongs. The
# publisher POSTs over the node's loopback, so each message is
# acknowledged whatever the link does.
use Test::NgxWs;
use Test::NgxWs::Netns;
use IO::Select;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

my $why = Test::NgxWs::Netns::unavailable();
plan(skip_all => "network namespaces unavailable: $why") if $why;
plan(skip_all => 'no /dev/net/tun for the slow link') unless -c '/dev/net/tun';

use constant SUBSCRIBERS => 20;
use constant MESSAGES => 300;
use constant PUBLISH_EVERY => 0.01;   # seconds between publishes
use constant LOSS => 5;               # percent of packets, each way
use constant ONE_WAY_DELAY => 100;    # ms, each way
use constant PING_INTERVAL => 150;    # ms, below the round trip
# 3.15 s of silence: retransmitted pongs, and a machine busy with other
# work (the client process, or the relay, kept off the CPU a second)
use constant PING_MAX_MISSED => 20;
use constant DELIVERY_BOUND => 30;    # seconds to deliver the last one

my $srv = Test::NgxWs::Netns::create('s');
my $cli = Test::NgxWs::Netns::create('c');
my ($srv_ip, $cli_ip) = Test::NgxWs::Netns::slow_link($srv, $cli);
my $port = test_port();
note('link: a relay holding every packet ' . ONE_WAY_DELAY . ' ms each '
     . 'way, nft dropping ' . LOSS . '% each way');

my $ngx = Test::NgxWs::Netns::in_ns($srv, sub {
    start_nginx(name => 'lossy link', log_level => 'info',
        main_config => 'worker_processes 2;', listen_options => 'reuseport',
        http_config => 'ws_zone chaos 4m;', config => <<"CONF") });
        listen $srv_ip:$port reuseport;
        location = /sub {
            ws_listen; ws_protocol json; ws_channels_allow room:*;
            ws_subscribe room:x;
            ws_ping_interval ${\ PING_INTERVAL }ms;
            ws_ping_max_missed ${\ PING_MAX_MISSED };
            add_header X-Worker \$pid always;
        }
        location ~ ^/pub/(?<c>[\\w:]+)\$ { ws_publisher \$c; }
        location = /metrics { ws_status; }
CONF

# the subscribers connect over the fast link, then it turns slow and lossy
my (@subs, %per_worker);
for (1 .. SUBSCRIBERS) {
    my $ws = Test::NgxWs::Netns::in_ns($cli, sub {
        ws_connect(host => $srv_ip, port => $port, uri => '/sub',
                   timeout => 15) });
    my $w = $ws->{response}{header}{'x-worker'};
    $per_worker{$w}++;
    push @subs, { ws => $ws, got => [], seqs => [], pings => 0 };
}
note('subscribers per worker: '
     . join(', ', map { "$_: $per_worker{$_}" } sort keys %per_worker));

Test::NgxWs::Netns::link_delay(ONE_WAY_DELAY);
Test::NgxWs::Netns::lossy($cli, LOSS);

# a WebSocket made over the slow link takes two round trips at least
# (TCP's handshake, then the upgrade's)
my $t = time;
my $probe = Test::NgxWs::Netns::in_ns($cli, sub {
    ws_connect(host => $srv_ip, port => $port, uri => '/sub', timeout => 15) });
my $handshake = time - $t;
$probe->disconnect;

sub server_get {
    my ($path) = @_;
    return Test::NgxWs::Netns::in_ns($srv, sub {
        eval { http_request(port => $port, timeout => 5,
            raw => "GET $path HTTP/1.1\r\nHost: localhost\r\n"
                 . "Connection: close\r\n\r\n") } // { body => '' } });
}

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

# Every subscriber with something to read is read (pings answered at
# once) until each has the last message, its connection ends, or the
# bound passes.
my %by_fd = map { fileno($_->{ws}{sock}) => $_ } @subs;
my $publisher_done = 0;
my $t_published;
while (time - $t_start < DELIVERY_BOUND + MESSAGES * PUBLISH_EVERY * 3) {
    if (!$publisher_done && waitpid($publisher, POSIX::WNOHANG()) > 0) {
        $publisher_done = 1;
        $t_published = time;
    }
    my @open = grep { !$_->{done} && !$_->{closed} } @subs;
    last if !@open && $publisher_done;
    my $sel = IO::Select->new(map { $_->{ws}{sock} } @open);
    for my $sock ($sel->can_read(0.05)) {
        my $s = $by_fd{fileno $sock};
        while (1) {
            my $m = eval { $s->{ws}->read_message(0.001) };
            if (!$m) {
                $s->{closed} = $@ || 'EOF' if !$@ || $@ !~ /timed out/;
                last;
            }
            if ($m->{op} eq 'ping') {
                $s->{ws}->send_pong($m->{payload});
                $s->{pings}++;
                next;
            }
            if ($m->{op} eq 'close') { $s->{closed} = "close $m->{code}"; last }
            my $o = eval { decode_json($m->{payload}) } or next;
            next unless ($o->{op} // '') eq 'message';
            push @{ $s->{got} }, $o->{data};
            push @{ $s->{seqs} }, $o->{seq};
            if ($o->{data} eq 'm' . MESSAGES) { $s->{done} = time; last }
        }
    }
}
kill 'KILL', $publisher unless $publisher_done;
waitpid $publisher, 0 unless $publisher_done;

# the subscribers stay a while on the slow link, heartbeat only
my $t_idle = time;
while (time - $t_idle < 2) {
    my @open = grep { !$_->{closed} } @subs;
    my $sel = IO::Select->new(map { $_->{ws}{sock} } @open);
    for my $sock ($sel->can_read(0.05)) {
        my $s = $by_fd{fileno $sock};
        while (1) {
            my $m = eval { $s->{ws}->read_message(0.001) };
            if (!$m) {
                $s->{closed} = $@ || 'EOF' if !$@ || $@ !~ /timed out/;
                last;
            }
            if ($m->{op} eq 'ping') {
                $s->{ws}->send_pong($m->{payload});
                $s->{pings}++;
            } elsif ($m->{op} eq 'close') {
                $s->{closed} = "close $m->{code}";
                last;
            } else {
                $s->{late}++;
            }
        }
    }
}

# the server's view of each subscriber's connection: smoothed RTT (ms)
# and segments retransmitted
my (@rtt, $retrans);
for (split /\n(?=\S)/, Test::NgxWs::Netns::run(
        "ip netns exec $srv ss -tin state established sport = :$port")) {
    next unless /\brtt:([\d.]+)\//;
    push @rtt, $1;
    $retrans += /\bretrans:\d+\/(\d+)/ ? $1 : 0;
}
@rtt = sort { $a <=> $b } @rtt;
my $timeouts = server_get('/metrics')->{body}
    =~ /^ngx_ws_ping_timeouts_total(?:\{[^}]*\})? (\d+)$/m ? $1 : -1;
my $dropped = Test::NgxWs::Netns::dropped($cli);

my %acked;
open my $fh, '<', $publog or die "$publog: $!\n";
while (<$fh>) {
    my ($n, $status) = split;
    $acked{"m$n"} = 1 if $status == 200;
}
is(scalar keys %acked, MESSAGES, 'every publish acknowledged (loopback)');
cmp_ok($dropped, '>', 0, "the link dropped packets ($dropped)");
cmp_ok($handshake, '>=', 4 * ONE_WAY_DELAY / 1000,
       sprintf('a WebSocket over the link took two round trips at least '
               . '(%.3f s)', $handshake));
is(scalar @rtt, SUBSCRIBERS, 'the server sees every subscriber\'s '
                             . 'connection (ss)');
cmp_ok($rtt[0] // 0, '>=', 2 * ONE_WAY_DELAY,
       "the server's smoothed RTT of every subscriber is the link's round "
       . "trip at least ($rtt[0] to $rtt[-1] ms), above ws_ping_interval");

my (@closed, @wrong, @no_pings, $slowest);
for my $i (0 .. $#subs) {
    my $s = $subs[$i];
    push @closed, "subscriber $i: $s->{closed}" if $s->{closed};
    push @no_pings, $i if $s->{pings} < 3;
    my $want = join ' ', grep { $acked{$_} } map { "m$_" } 1 .. MESSAGES;
    my $got = join ' ', @{ $s->{got} };
    push @wrong, "subscriber $i: " . scalar(@{ $s->{got} }) . ' messages'
        if $got ne $want;
    push @wrong, "subscriber $i: $s->{late} messages after the last"
        if $s->{late};
    my @q = @{ $s->{seqs} };
    push @wrong, "subscriber $i: sequence numbers not consecutive"
        if grep { $q[$_] != $q[$_ - 1] + 1 } 1 .. $#q;
    my $took = ($s->{done} // time) - ($t_published // time);
    $slowest = $took if !defined $slowest || $took > $slowest;
}
my $pings = 0;
$pings += $_->{pings} for @subs;
ok(!@no_pings, "every subscriber was pinged over the slow link and "
               . "answered ($pings pings in all)")
    or diag("fewer than 3 pings: subscribers @no_pings");
ok(!@closed, 'every subscriber stayed connected (heartbeat answered late '
             . 'is no cause to close)') or diag(join "\n", @closed);
is($timeouts, 0, 'no heartbeat timeout counted (ngx_ws_ping_timeouts_total)');
ok(!@wrong, 'every subscriber got every acknowledged message in order, '
            . 'once each, none missing') or diag(join "\n", @wrong);
cmp_ok($slowest, '<=', DELIVERY_BOUND,
       sprintf('the last message reached the slowest subscriber %.2f s '
               . 'after the last publish', $slowest));
note(sprintf 'measured: %d subscribers x %d messages, %d packets dropped '
     . 'by nft, %d segments retransmitted by the server, server RTT %s to '
     . '%s ms, %d pings answered, handshake %.3f s, last delivery %.2f s '
     . 'after the last publish', SUBSCRIBERS, MESSAGES, $dropped,
     $retrans // 0, $rtt[0] // '?', $rtt[-1] // '?', $pings, $handshake,
     $slowest);

$_->{ws}->disconnect for @subs;
check_logs($ngx);
done_testing();
