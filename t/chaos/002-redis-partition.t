# Chaos: the link between two nodes and Redis is cut by dropping packets
# (no reset, no FIN: what a partition or a lost host looks like), then
# healed.
#
# The promises (docs/cluster.md, "When Redis is down" and "Keep-alive and
# the event loop"):
# - a Redis that stops answering is noticed within twice `timeout=` (an
#   idle link sends a PING after `timeout=`, which must be answered within
#   `timeout=`); a publish waits for Redis at most `timeout=`;
# - publishes to cross-node channels are then refused, never queued: 503
#   {"channel":…,"error":"cross-node delivery is down, try again later"};
# - local channels and open connections keep working;
# - each change of state is logged once (`is down`, then `is up`), not once
#   per retry; readiness answers 503 meanwhile, and says so in the log once
#   per change (`ws: not ready: redis unreachable`, `ws: ready again`), not
#   once per probe (docs/operations.md, "Health");
# - a client resuming a cross-node channel meanwhile gets, at once, what
#   this node keeps and is told of the rest by a gap: the same answer as
#   with Redis up (docs/control-protocol.md, "History and resume");
# - each link reconnects by itself (backoff from 100 ms up to 3 s), with no
#   restart: cross-node publishes work again.
#
# Measured with real packets: both nodes in one network namespace, Redis in
# another, a veth pair between them; nft drops every packet of Redis's
# namespace, then the rule is deleted.
use Test::NgxWs;
use Test::NgxWs::Redis;
use Test::NgxWs::Netns;
use JSON::PP;
use Time::HiRes qw(time sleep);

my $why = Test::NgxWs::Netns::unavailable();
plan(skip_all => "network namespaces unavailable: $why") if $why;
plan(skip_all => 'redis-server is not installed')
    unless Test::NgxWs::Redis::available();

use constant TIMEOUT => 1;          # ws_redis timeout=, seconds
use constant MARGIN => 0.5;         # timers and a loaded machine
use constant BACKOFF_MAX => 3;      # the documented longest retry delay
use constant KEPT => 4;             # ws_channel_history: messages kept
use constant PUBLISHED => 10;       # messages of the resumed channel
use constant PROBES => 5;           # readiness probes during the outage

my $srv = Test::NgxWs::Netns::create('s');
my $rns = Test::NgxWs::Netns::create('r');
my ($srv_ip, $redis_ip) = Test::NgxWs::Netns::link($srv, $rns);
sub in_srv { Test::NgxWs::Netns::in_ns($srv, @_) }

my $redis = Test::NgxWs::Redis->new(
    args => ['--bind', '127.0.0.1', $redis_ip, '--protected-mode', 'no']);
Test::NgxWs::Netns::in_ns($rns, sub { $redis->start });
my $rport = $redis->{port};

my $http = <<"CONF";
    ws_zone chaos 4m;
    ws_redis $redis_ip:$rport timeout=${\ TIMEOUT}s;
    ws_redis_channels room:*;
    ws_channel_history ${\ KEPT} 1h;
CONF
my $config = <<'CONF';
    location ~ ^/chat/(?<room>\w+)$ { ws_listen; ws_subscribe room:$room; }
    location = /local { ws_listen; ws_subscribe local:x; }
    location ~ ^/pub/(?<c>[\w:]+)$ { ws_publisher $c; }
    location = /readyz { ws_health ready; }
    location = /feed {
        ws_listen; ws_protocol json; ws_channels_allow room:*;
        ws_subscribe room:g;
    }
CONF

my %port = (a => test_port() + 2, b => test_port() + 3);
my %node;
in_srv(sub {
    for my $n (qw(a b)) {
        $node{$n} = start_nginx(name => "node $n", log_level => 'info',
            prefix => Test::NgxWs::servroot() . "-$n", port => $port{$n},
            http_config => $http, config => $config);
    }
});
my %pids = map { $_ => join ' ', $node{$_}{pid}, sort $node{$_}->workers }
           qw(a b);

sub request {
    my ($n, $raw) = @_;
    my $res = in_srv(sub { http_request(raw => $raw, port => $port{$n},
                                        timeout => 10) });
    $res->{json} = eval { decode_json($res->{body}) } // {};
    return $res;
}

sub post {
    my ($n, $channel, $body) = @_;
    return request($n, "POST /pub/$channel HTTP/1.1\r\nHost: localhost\r\n"
                       . 'Content-Length: ' . length($body)
                       . "\r\nConnection: close\r\n\r\n$body");
}

sub ready {
    my ($n) = @_;
    return request($n, "GET /readyz HTTP/1.1\r\nHost: localhost\r\n"
                       . "Connection: close\r\n\r\n")->{status};
}

sub connect_ws {
    my ($n, $uri) = @_;
    return in_srv(sub { ws_connect(port => $port{$n}, uri => $uri) });
}

sub count_lines {
    my ($n, $re) = @_;
    return scalar grep { $_ =~ $re } split /\n/, $node{$n}->error_log;
}

sub text_of {
    my ($ws, $timeout) = @_;
    my $m = eval { $ws->read_message($timeout // 5) };
    return $m ? $m->{payload} : 'nothing';
}

# A JSON subscriber's messages until the one numbered $last: "seq:data"
# and "gap from-to", in the order received.
sub read_feed {
    my ($ws, $last) = @_;
    my @got;
    while (1) {
        my $m = eval { $ws->read_message(5) };
        my $o = $m && eval { decode_json($m->{payload}) };
        if (!$o) { push @got, 'nothing'; last }
        next unless $o->{op} =~ /^(?:message|gap)$/;
        push @got, $o->{op} eq 'gap' ? "gap $o->{from}-$o->{to}"
                                     : "$o->{seq}:$o->{data}";
        last if $o->{op} eq 'message' && $o->{seq} >= $last
                || $o->{op} eq 'gap' && $o->{to} >= $last;
    }
    return join ', ', @got;
}

my $up = qr/redis \Q$redis_ip:$rport\E is up \(subscribe link\)/;
my $down = qr/redis \Q$redis_ip:$rport\E is down/;

for my $n (qw(a b)) {
    ok(wait_for(sub { count_lines($n, $up) >= 1 }, 10),
       "node $n: subscribed to Redis over the veth link");
}

# cross-node delivery works before the partition (so its failure later
# is the partition's doing)
my $sub_b = connect_ws('b', '/chat/r');
my $delivered = wait_for(sub {
    post('a', 'room:r', 'probe')->{status} == 200
        && text_of($sub_b, 0.5) eq 'probe' }, 10);
ok($delivered, 'before: a publish on node a reaches a subscriber on node b');
is(ready('a'), 200, 'before: node a is ready');
my $local_a = connect_ws('a', '/local');

# a channel with history: PUBLISHED messages, of which each node and
# Redis's stream keep the last KEPT
my $feed_b = connect_ws('b', '/feed');
post('a', 'room:g', "g$_") for 1 .. PUBLISHED;
my @live = split /, /, read_feed($feed_b, PUBLISHED);
is(scalar(grep { /^\d+:g\d+$/ } @live), PUBLISHED,
   'before: node b got the ' . PUBLISHED . ' messages of room:g live');
my ($first) = ($live[0] // '') =~ /^(\d+):/;
my $last = $first + PUBLISHED - 1;
my $cut = $last - KEPT;
# what a client that saw g1 only is told on resuming
my $resumed = join ', ', 'gap ' . ($first + 1) . "-$cut",
    map { ($first + $_ - 1) . ":g$_" } PUBLISHED - KEPT + 1 .. PUBLISHED;
my $before = connect_ws('b', "/feed?last_seq=$first");
is(read_feed($before, $last), $resumed,
   'before: a client resuming room:g on node b after g1 gets the last '
   . KEPT . ', the older ones as a gap');
$before->disconnect;

# ---- partition ----
Test::NgxWs::Netns::partition($rns);
my $t0 = time;

my $res = post('a', 'room:r', 'during');
my $t_refused = time - $t0;
is($res->{status}, 503, 'a cross-node publish during the partition: 503');
is($res->{json}{error}, 'cross-node delivery is down, try again later',
   'with the documented error');
cmp_ok($t_refused, '<=', TIMEOUT + MARGIN,
       sprintf('refused %.2f s after the cut (promise: timeout= %d s + '
               . '%.1f s margin)', $t_refused, TIMEOUT, MARGIN));

my %t_detected;
for my $n (qw(a b)) {
    ok(wait_for(sub { count_lines($n, $down) >= 1 && ready($n) == 503 },
                2 * TIMEOUT + MARGIN + 5),
       "node $n: the outage is logged and readiness answers 503");
    $t_detected{$n} = time - $t0;
    cmp_ok($t_detected{$n}, '<=', 2 * TIMEOUT + MARGIN,
           sprintf("node $n: detected %.2f s after the cut (promise: 2 x "
                   . 'timeout= + %.1f s margin)', $t_detected{$n}, MARGIN));
}

# readiness is probed again and again during the outage: one line
for (1 .. PROBES) {
    is(ready($_), 503, "node $_: readiness 503 during the outage") for qw(a b);
}
for my $n (qw(a b)) {
    is(count_lines($n, qr/ws: not ready: redis unreachable/), 1,
       "node $n: \"not ready: redis unreachable\" logged once over "
       . 'all the probes of the outage');
}

# a client resuming room:g now: the same from node b's own history, at
# once (the link is known to be down: Redis is not waited for)
my $t_resume = time;
my $during = connect_ws('b', "/feed?last_seq=$first");
is(read_feed($during, $last), $resumed,
   'during: a client resuming room:g on node b is told the same: the '
   . KEPT . ' messages node b keeps, the older ones as a gap');
my $resume_took = time - $t_resume;
cmp_ok($resume_took, '<=', MARGIN, sprintf('and at once (%.2f s)',
                                           $resume_took));
$during->disconnect;

is(post('a', 'local:x', 'still local')->{status}, 200,
   'a local channel publishes during the partition');
is(text_of($local_a), 'still local', 'and its subscriber receives it');

# retries go on meanwhile (several backoff rounds), each not logged again
sleep 2 * BACKOFF_MAX;
for my $n (qw(a b)) {
    my %links;
    $links{$_}++ for $node{$n}->error_log =~ /$down \((\w+ link)\)/g;
    ok(keys %links == 2 && !grep({ $_ != 1 } values %links),
       "node $n: each link's outage logged once over "
       . sprintf('%.0f s', time - $t0) . ' ('
       . join(', ', map { "$_: $links{$_}" } sort keys %links) . ')');
}
is(text_of($sub_b, 0.2), 'nothing',
   'the subscriber on node b got nothing meanwhile');

# ---- heal ----
Test::NgxWs::Netns::heal($rns);
my $t1 = time;
for my $n (qw(a b)) {
    ok(wait_for(sub { count_lines($n, $up) >= 2 && ready($n) == 200 },
                BACKOFF_MAX + 2 * TIMEOUT + MARGIN + 5),
       "node $n: the link is up again and readiness answers 200");
    my $took = time - $t1;
    cmp_ok($took, '<=', BACKOFF_MAX + TIMEOUT + MARGIN,
           sprintf("node $n: recovered %.2f s after the heal (promise: "
                   . 'backoff up to %d s + timeout= + %.1f s margin)',
                   $took, BACKOFF_MAX, MARGIN));
}
for my $n (qw(a b)) {
    is(count_lines($n, qr/ws: ready again/), 1,
       "node $n: \"ready again\" logged once");
    is(count_lines($n, qr/ws: not ready/), 1,
       "node $n: and no other \"not ready\" line");
}
my $after = post('a', 'room:r', 'after');
is($after->{status}, 200, 'after: a cross-node publish is accepted again');
is(text_of($sub_b), 'after', 'and reaches the subscriber on node b');
is(join(' ', $node{$_}{pid}, sort $node{$_}->workers), $pids{$_},
   "node $_: no restart (same master and workers)") for qw(a b);
note(sprintf 'measured: publish refused after %.2f s; detected on a after '
     . '%.2f s, on b after %.2f s', $t_refused, @t_detected{qw(a b)});

$_->disconnect for $sub_b, $local_a, $feed_b;
check_logs($node{$_}) for qw(a b);
done_testing();
