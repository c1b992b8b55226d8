# History and resume (ws_channel_history): a client that subscribes with
# the last sequence number it saw gets what it missed, in order, then the
# live stream; what the zone no longer keeps is reported as a gap. Across
# two nodes joined by Redis, a client resumes on the other node.
use Test::NgxWs;
use Test::NgxWs::Redis;
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep time);

my $json = JSON::PP->new->canonical;

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

sub post {
    my ($port, $channel, $body) = @_;
    my $res = http_request(port => $port, timeout => 10,
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
                 : $o->{op} eq 'message' ? "$o->{seq}:$o->{data}"
                 : $o->{op} eq 'gap' ? "gap $o->{from}-$o->{to}"
                 : $o->{op} eq 'ack' ? 'ack' . (defined $o->{seq} ? " $o->{seq}" : '')
                 : $t;
        last if $got[-1] =~ $until;
    }
    return join ', ', @got;
}

sub resume {
    my ($port, $channel, $last) = @_;
    my $ws = ws_connect(port => $port, uri => '/ws');
    $ws->send_text($json->encode({ op => 'subscribe', channel => $channel,
                                   defined $last ? (last_seq => $last) : (),
                                   id => 1 }));
    return $ws;
}

{
    my $name = 'history on one node';
    my $port = test_port();
    my $ngx = start_nginx(name => $name, log_level => 'info',
        main_config => 'worker_processes 2;', listen_options => 'reuseport',
        http_config => "ws_zone test 4m;\n    ws_channel_history 5 1h;",
        config => $config);

    post($port, "room:h", "m$_") for 1 .. 8;

    my $ws = resume($port, 'room:h', 5);
    is(read_until($ws, qr/^8:/), 'ack 8, 6:m6, 7:m7, 8:m8',
       "$name: last_seq 5 replays 6..8 after the ack");
    post($port, 'room:h', 'm9');
    is(read_until($ws, qr/^9:/), '9:m9', "$name: then the live stream");

    $ws = resume($port, 'room:h', 1);
    is(read_until($ws, qr/^9:/), 'ack 9, gap 2-4, 5:m5, 6:m6, 7:m7, 8:m8, 9:m9',
       "$name: only the last 5 are kept: the rest is reported as a gap");

    # the ack first: a publish racing the subscribe would be replayed instead
    $ws = resume($port, 'room:h', 9);
    my $ack = read_until($ws, qr/^ack/);
    post($port, 'room:h', 'm10');
    is("$ack, " . read_until($ws, qr/^10:/), 'ack 9, 10:m10', "$name: nothing missed, nothing replayed");

    $ws = resume($port, 'room:h', 0);
    is(read_until($ws, qr/^10:/), 'ack 10, gap 1-5, 6:m6, 7:m7, 8:m8, 9:m9, 10:m10',
       "$name: last_seq 0 asks for everything");

    $ws = resume($port, 'room:h', 42);
    $ack = read_until($ws, qr/^ack/);
    post($port, 'room:h', 'm11');
    is("$ack, " . read_until($ws, qr/^11:/), 'ack 10, 11:m11', "$name: a number from the future replays nothing");

    $ws = resume($port, 'room:new', 0);
    $ack = read_until($ws, qr/^ack/);
    post($port, 'room:new', 'first');
    is("$ack, " . read_until($ws, qr/^1:/), 'ack, 1:first', "$name: an empty channel has nothing to resume");

    $ws = ws_connect(port => $port, uri => '/ws');
    for my $bad ('-1', '1.5', '"3"', 'null') {
        $ws->send_text(qq({"op":"subscribe","channel":"room:h","last_seq":$bad,"id":2}));
        like(read_until($ws, qr/./), qr/"code":"bad_request".*"bad last_seq"/,
             "$name: last_seq $bad is a bad request");
    }

    post($port, 'room:feed', "f$_") for 1 .. 4;
    my $feed = ws_connect(port => $port, uri => '/feed?last_seq=2');
    is(read_until($feed, qr/^4:/), '3:f3, 4:f4', "$name: ?last_seq=2 on a ws_subscribe location");
    my $feed2 = ws_connect(port => $port, uri => '/feed?last_seq=oops');
    # the 101 may reach the client before its worker has subscribed
    wait_for(sub { my $r = http_request(port => $port, timeout => 5,
                       raw => "GET /pub/room:feed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                   (((eval { decode_json($r->{body}) }) // {})->{subscribers} // 0) == 2 }, 5);
    post($port, 'room:feed', 'f5');
    is(read_until($feed2, qr/^5:/), '5:f5', "$name: an invalid ?last_seq is ignored");

    $_->disconnect for $ws, $feed, $feed2;
    check_logs($ngx);
}

{
    my $name = 'history kept for a time';
    my $port = test_port();
    my $ngx = start_nginx(name => $name, log_level => 'info',
        http_config => "ws_zone test 4m;\n    ws_channel_history 100 300ms;",
        config => $config);
    post($port, 'room:t', "old$_") for 1 .. 3;
    sleep 0.5;    # past the history time: the three are expired
    post($port, 'room:t', 'new');
    my $ws = resume($port, 'room:t', 0);
    is(read_until($ws, qr/^4:/), 'ack 4, gap 1-3, 4:new', "$name: expired messages are a gap");
    $ws->disconnect;
    check_logs($ngx);
}

{
    my $name = 'no history configured';
    my $port = test_port();
    my $ngx = start_nginx(name => $name, log_level => 'info',
        http_config => 'ws_zone test 4m;', config => $config);
    post($port, 'room:n', "x$_") for 1 .. 3;
    my $ws = resume($port, 'room:n', 1);
    is(read_until($ws, qr/^gap/), 'ack 3, gap 2-3', "$name: the whole gap is reported");
    $ws->disconnect;
    check_logs($ngx);
}

SKIP: {
    skip 'redis-server is not installed', 9 unless Test::NgxWs::Redis::available();
    my $name = 'resume on another node';
    my $redis = Test::NgxWs::Redis->new(port => Test::NgxWs::Redis::redis_port() + 2);
    $redis->start;
    my $rport = $redis->{port};
    my %port = (a => test_port() + 2, b => test_port() + 3);
    my %node;
    for my $n (qw(a b)) {
        $node{$n} = start_nginx(name => "$name, node $n", log_level => 'info',
            prefix => Test::NgxWs::servroot() . "-$n", port => $port{$n},
            http_config => "ws_zone test 4m;\n    ws_channel_history 50 1h;\n"
                         . "    ws_redis 127.0.0.1:$rport timeout=1s;\n"
                         . "    ws_redis_channels room:*;",
            config => $config);
    }
    ok(wait_for(sub { $node{a}->error_log =~ /is up \(subscribe link\)/
                      && $node{b}->error_log =~ /is up \(subscribe link\)/ }, 10),
       "$name: both nodes subscribed");

    my $ws = resume($port{b}, 'room:x');
    is(read_until($ws, qr/^ack/), 'ack', "$name: a client on node b subscribes");
    post($port{a}, 'room:x', "r$_") for 1 .. 3;
    is(read_until($ws, qr/^3:/), '1:r1, 2:r2, 3:r3', "$name: it receives what node a publishes");
    $ws->disconnect;

    post($port{b}, 'room:x', "r$_") for 4 .. 6;
    # both nodes have numbered and kept 1..6 before the client comes back
    ok(wait_for(sub { (post($port{a}, 'room:x', 'r7')->{seq} // 0) == 7 }, 5),
       "$name: node a publishes r7 as number 7");
    # answered once Redis numbered it; node a's zone has it a moment later
    ok(wait_for(sub { my $r = http_request(port => $port{a}, timeout => 5,
                          raw => "GET /pub/room:x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                      (((eval { decode_json($r->{body}) }) // {})->{seq} // 0) == 7 }, 5),
       "$name: node a has received number 7 from redis");
    $ws = resume($port{a}, 'room:x', 3);
    is(read_until($ws, qr/^7:/), 'ack 7, 4:r4, 5:r5, 6:r6, 7:r7',
       "$name: the client resumes on node a after 3: 4..7, same numbers");
    post($port{b}, 'room:x', 'r8');
    is(read_until($ws, qr/^8:/), '8:r8', "$name: then live from both nodes");
    $ws->disconnect;
    check_logs($node{$_}) for qw(a b);
}

done_testing();
