# History of cross-node channels in Redis (a stream per channel, written
# by the publish script): node A publishes while node B is not running;
# a client resuming on B, by the control protocol or ?last_seq=, gets the
# messages from Redis in order, then the live stream, after an ack that
# carries the number the replay ends at (Redis's, on a node that had not
# seen the channel); what Redis trimmed is an explicit gap; a live message
# that arrives while Redis's answer is pending (forced by a proxy that
# holds the answer back) comes once, after the replay; Redis hung or down
# at resume gives the gap of this node's own history, without a hang; a
# client that leaves before Redis answers is no trouble (run under ASan
# by make test).
use Test::NgxWs;
use Test::NgxWs::Redis;
use Test::More;
use JSON::PP;
use IO::Select;
use IPC::Open2;
use POSIX ();
use Time::HiRes qw(sleep time);

plan(skip_all => 'redis-server is not installed')
    unless Test::NgxWs::Redis::available();

my $json = JSON::PP->new->canonical;
my $redis = Test::NgxWs::Redis->new;
$redis->start;
my $rport = $redis->{port};

# ~ trims whole stream nodes: with one entry per node, MAXLEN ~ is exact;
# the expected gap is still computed from what Redis holds
$redis->cli('CONFIG', 'SET', 'stream-node-max-entries', '1');

my $N = 5;
my $http = <<"CONF";
    ws_zone test 4m;
    ws_channel_history $N 1h;
    ws_redis 127.0.0.1:$rport timeout=1s;
    ws_redis_channels room:*;
CONF

my $config = <<'CONF';
    location = /ws {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
    }
    location = /feed {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
        ws_subscribe room:feed;
    }
    location ~ ^/pub/(?<c>[\w:]+)$ { ws_publisher $c; }
CONF

my %port = (a => test_port() + 2, b => test_port() + 3);
my %node;

sub start_node {
    my ($n, $http_config) = @_;
    $node{$n} = start_nginx(name => "node $n", log_level => 'info',
        prefix => Test::NgxWs::servroot() . "-$n", port => $port{$n},
        http_config => $http_config // $http, config => $config);
    ok(wait_for(sub { $node{$n}->error_log =~ /is up \(subscribe link\)/
                      && $node{$n}->error_log =~ /is up \(publish link\)/ }, 10),
       "node $n: linked to redis");
}

sub post {
    my ($n, $channel, $body) = @_;
    my $res = http_request(port => $port{$n}, timeout => 10,
        raw => "POST /pub/$channel HTTP/1.1\r\nHost: localhost\r\n"
             . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
    return eval { decode_json($res->{body}) } // { status => $res->{status} };
}

# The messages a client gets until (and with) the one matching $until.
sub read_until {
    my ($ws, $until) = @_;
    my @got;
    while (1) {
        my $m = eval { $ws->read_message(5) } or do { push @got, 'nothing'; last };
        my $t = $m->{payload};
        my $o = eval { decode_json($t) };
        push @got, !$o ? $t
                 : $o->{op} eq 'message' ? "$o->{seq}:" . (ref $o->{data} ? $json->encode($o->{data}) : $o->{data})
                 : $o->{op} eq 'gap' ? "gap $o->{from}-$o->{to}"
                 : $o->{op} eq 'ack' ? 'ack' . (defined $o->{seq} ? " $o->{seq}" : '')
                 : $t;
        last if $got[-1] =~ $until;
    }
    return join ', ', @got;
}

sub resume {
    my ($n, $channel, $last, $id) = @_;
    my $ws = ws_connect(port => $port{$n}, uri => '/ws');
    $ws->send_text($json->encode({ op => 'subscribe', channel => $channel,
                                   last_seq => $last, id => $id // 1 }));
    return $ws;
}

# The numbers Redis holds in a channel's stream, oldest first.
sub held {
    my ($channel) = @_;
    my @lines = split /\n/, $redis->cli('XRANGE', "ngx_ws:hist:$channel", '-', '+');
    my @seqs;
    for my $i (0 .. $#lines - 1) {
        push @seqs, $lines[$i + 1] if $lines[$i] eq 's';
    }
    return @seqs;
}

# ---------------------------------------------------------------- #
# Node B is not running while node A publishes
# ---------------------------------------------------------------- #

start_node('a');

my $ok = 1;
for my $i (1 .. 5) {
    $ok &&= (post('a', 'room:s', "m$i")->{seq} // 0) == $i;
}
$ok &&= (post('a', 'room:j', '{"op":"x","v":[1,2]}')->{seq} // 0) == 1;
$ok &&= (post('a', 'room:feed', "f$_")->{seq} // 0) == $_ for 1 .. 3;
$ok &&= (post('a', 'room:t', "t$_")->{seq} // 0) == $_ for 1 .. 12;
ok($ok, 'node a publishes while node b is down: numbered 1.. by redis');

is(scalar(() = held('room:s')), 5, 'redis keeps the 5 messages of room:s in its stream');
my @held_t = held('room:t');
ok(@held_t && @held_t < 12 && $held_t[-1] == 12,
   "redis trimmed room:t to the last ones ($held_t[0]..$held_t[-1])");
my $ttl = $redis->cli('PTTL', 'ngx_ws:hist:room:s');
ok($ttl > 3600_000 && $ttl <= 3660_000, "the stream expires after the history time ($ttl ms)");

start_node('b');

# node b has seen nothing of room:s (its own number is 0): the ack says
# Redis's number, the one the replay that follows ends at
my $ws = resume('b', 'room:s', 0, 'fresh');
my $ack = eval { decode_json($ws->read_message(5)->{payload}) };
is_deeply($ack, { op => 'ack', id => 'fresh', seq => 5 },
          'resuming on a fresh node b: the ack carries redis\'s number, 5, '
          . 'and the id of the subscribe')
    or diag($json->encode($ack));
is(read_until($ws, qr/^5:/), '1:m1, 2:m2, 3:m3, 4:m4, 5:m5',
   'then 1..5 from redis, in order');
post('a', 'room:s', 'm6');
is(read_until($ws, qr/^6:/), '6:m6', 'then the live stream');

my $ws2 = resume('b', 'room:s', 3);
is(read_until($ws2, qr/^6:/), 'ack 6, 4:m4, 5:m5, 6:m6',
   'resuming after 3: node b\'s own copy of 6 and 4..5 from redis');

my $wj = resume('b', 'room:j', 0);
is(read_until($wj, qr/^1:/), 'ack 1, 1:{"op":"x","v":[1,2]}',
   'a JSON message from redis comes as JSON, as a live one would');

# the last $N that Redis holds are replayed, the rest is a gap
my @want_t = grep { $_ > 12 - $N } @held_t;
my $want = 'ack 12' . ($want_t[0] > 1 ? ", gap 1-" . ($want_t[0] - 1) : '')
         . join('', map { ", $_:t$_" } @want_t);
my $wt = resume('b', 'room:t', 0);
is(read_until($wt, qr/^12:/), $want, 'what redis trimmed is an explicit gap');

my $feed = ws_connect(port => $port{b}, uri => '/feed?last_seq=1');
is(read_until($feed, qr/^3:/), '2:f2, 3:f3', '?last_seq=1 on a ws_subscribe location: 2..3 from redis');
post('a', 'room:feed', 'f4');
is(read_until($feed, qr/^4:/), '4:f4', 'then live');

$_->disconnect for $ws, $ws2, $wj, $wt, $feed;

# ---------------------------------------------------------------- #
# Resuming while messages are being published: whatever the timing of
# Redis's answer against the live messages, every number comes exactly
# once, in order, as a message or inside a gap
# ---------------------------------------------------------------- #

my $pid = fork // die "fork: $!";
if ($pid == 0) {
    post('a', 'room:r', "r$_") for 1 .. 20;
    POSIX::_exit(0);    # no END blocks or destructors: they are the parent's
}
wait_for(sub { ($redis->cli('GET', 'ngx_ws:seq:room:r') || 0) >= 8 }, 10);
my $wr = resume('b', 'room:r', 0);
my ($next, $fine, @seen) = (1, 1);
while ($next <= 20) {
    my $m = eval { $wr->read_message(10) } or do { $fine = 0; push @seen, 'nothing'; last };
    my $o = eval { decode_json($m->{payload}) } // {};
    next if ($o->{op} // '') eq 'ack';
    if (($o->{op} // '') eq 'gap' && $o->{from} == $next && $o->{to} >= $next) {
        push @seen, "gap $o->{from}-$o->{to}";
        $next = $o->{to} + 1;
    } elsif (($o->{op} // '') eq 'message' && $o->{seq} == $next && $o->{data} eq "r$next") {
        push @seen, $next++;
    } else {
        push @seen, $m->{payload};
        $fine = 0;
        last;
    }
}
waitpid $pid, 0;
ok($fine && $next == 21, 'resume during a burst: 1..20 each once, in order, messages or gaps')
    or diag("@seen");
note("seen: @seen");
$wr->disconnect;

# ---------------------------------------------------------------- #
# A live message that arrives while Redis's answer is pending, forced:
# node c reaches Redis through a proxy (t/lib/redis_hold_proxy.py) that
# holds back Redis's reply to the history read until the live message,
# published on node a, has reached another subscriber on node c. Both of
# node c's links go through the proxy; only that one reply waits. The
# reply timeout is long enough for the hold.
# ---------------------------------------------------------------- #

$port{c} = test_port() + 4;
my $pport = test_port() + 5;
my $proxy_pid = open2(my $proxy_out, my $proxy_in, '/usr/bin/python3',
                      repo_root() . '/t/lib/redis_hold_proxy.py',
                      $pport, $rport);
$proxy_in->autoflush(1);

# The next line the proxy prints, or '' after $timeout seconds.
sub proxy_says {
    my ($timeout) = @_;
    my $sel = IO::Select->new($proxy_out);
    my $line = '';
    while ($line !~ /\n/ && $sel->can_read($timeout)) {
        sysread($proxy_out, my $byte, 1) or last;
        $line .= $byte;
    }
    chomp $line;
    return $line;
}

is(proxy_says(5), 'listening', 'the proxy to redis is listening');

$ok = 1;
$ok &&= (post('a', 'room:p', "p$_")->{seq} // 0) == $_ for 1 .. 3;
ok($ok, 'node a publishes 1..3 to room:p before node c starts');

(my $http_c = $http) =~ s/ws_redis \S+ timeout=1s;/ws_redis 127.0.0.1:$pport timeout=10s;/
    or die 'no ws_redis line to change';
start_node('c', $http_c);

my $watch = ws_connect(port => $port{c}, uri => '/ws');
$watch->send_text($json->encode({ op => 'subscribe', channel => 'room:p' }));
like(read_until($watch, qr/^ack/), qr/^ack/, 'a watcher subscribes on node c');

my $wp = resume('c', 'room:p', 0);
is(proxy_says(10), 'held', 'the proxy holds redis\'s answer to node c\'s history read');
is(post('a', 'room:p', 'p4')->{seq}, 4, 'node a publishes 4 meanwhile');
is(read_until($watch, qr/^4:/), '4:p4', 'it reaches node c while the read is pending');
print $proxy_in "release\n";
is(read_until($wp, qr/^4:/), 'ack 4, 1:p1, 2:p2, 3:p3, 4:p4',
   'the resuming client: ack 4, 1..3 from redis, then 4 from the ring, '
   . 'not live before the replay');
post('a', 'room:p', 'p5');
is(read_until($wp, qr/^5:/), '5:p5', 'then live from 5 on, 4 not twice');
$_->disconnect for $watch, $wp;

check_logs($node{c});
close $proxy_in;    # the proxy exits at the end of its input
waitpid $proxy_pid, 0;

# ---------------------------------------------------------------- #
# Redis hung at resume: the reply times out (timeout=1s)
# ---------------------------------------------------------------- #

$redis->pause;
my $gone = resume('b', 'room:s', 0);
$gone->disconnect;    # before redis could answer
my $hung = resume('b', 'room:s', 0);
my $t0 = time;
# node b's ring has 6 (it was running); 1..5 only redis has
is(read_until($hung, qr/^6:/), 'ack 6, gap 1-5, 6:m6',
   'redis hung at resume: the node\'s own history, the rest a gap');
ok(time - $t0 < 4, sprintf('after the reply timeout, not a hang (%.1fs)', time - $t0));
$redis->resume;
ok(wait_for(sub { my @up = $node{b}->error_log =~ /is up \(publish link\)/g; @up >= 2 }, 10),
   'node b links to redis again');
$hung->disconnect;

# ---------------------------------------------------------------- #
# Redis down at resume
# ---------------------------------------------------------------- #

# A history read that Redis answers ends the hung outage's run of
# failures (the fallback line comes once per run); then two clients
# resume while Redis is down: one more line, not two.
my $back = resume('b', 'room:s', 4);
is(read_until($back, qr/^6:/), 'ack 6, 5:m5, 6:m6', 'redis answers history reads again');
$back->disconnect;
my $said_before = () = $node{b}->error_log =~ /from this node's history only/g;
$redis->kill_server;
ok(wait_for(sub { $node{b}->error_log =~ /is down \(publish link\)/ }, 10),
   'node b notices redis is down');
my $down = resume('b', 'room:s', 2);
is(read_until($down, qr/^6:/), 'ack 6, gap 3-5, 6:m6', 'redis down at resume: a gap at once');
$down = resume('b', 'room:s', 2);
is(read_until($down, qr/^6:/), 'ack 6, gap 3-5, 6:m6', 'again');
my $said = () = $node{b}->error_log =~ /from this node's history only/g;
is($said - $said_before, 1, 'the fallback is logged once per outage, not per client');
$down->disconnect;

check_logs($node{$_}) for qw(a b);

# stopped now, not in global destruction, where its waitpid would set the
# exit status after Test::Builder has
undef $redis;

done_testing();
