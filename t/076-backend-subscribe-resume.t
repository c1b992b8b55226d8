# A subscribe the subscribe hook allowed, with last_seq (a resume): the
# ack that starts the replay carries the hook's answer as "data", as a
# plain subscribe's does (docs/backends.md, "The subscribe hook"). On a
# channel of this node's zone the ack goes at once; on a cross-node
# channel (ws_redis_channels) it waits for Redis's answer, and the data is
# kept until then. t/057 has the resume on a zone channel without
# history; this file the replay of kept messages, on both kinds.
use Test::NgxWs;
use Test::NgxWs::Redis;
use Test::More;
use JSON::PP qw(decode_json encode_json);

plan(skip_all => 'redis-server is not installed')
    unless Test::NgxWs::Redis::available();

my $redis = Test::NgxWs::Redis->new;
$redis->start;
my $rport = $redis->{port};
my $port = test_port();

my $ngx = start_nginx(name => 'subscribe hook resume', log_level => 'info',
    http_config => <<"HTTP", config => <<'CONF');
    ws_zone resume 4m;
    ws_channel_history 10 1h;
    ws_redis 127.0.0.1:$rport timeout=1s;
    ws_redis_channels cluster:*;
HTTP
    location = /ws {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:* cluster:*;
        ws_backend_subscribe /internal/sub;
    }
    location = /internal/sub {
        internal;
        default_type application/json;
        return 200 '{"members":["bob"]}';
    }
    location ~ ^/pub/(?<c>[\w:]+)$ { ws_publisher $c; }
CONF

ok(wait_for(sub { $ngx->error_log =~ /is up \(subscribe link\)/
                  && $ngx->error_log =~ /is up \(publish link\)/ }, 10),
   'linked to redis');

sub post {
    my ($channel, $body) = @_;
    my $res = http_request(port => $port, timeout => 10,
        raw => "POST /pub/$channel HTTP/1.1\r\nHost: localhost\r\n"
             . 'Content-Length: ' . length($body) . "\r\nConnection: close\r\n\r\n$body");
    return eval { decode_json($res->{body}) } // {};
}

sub next_reply {
    my ($ws) = @_;
    my $m = eval { $ws->read_message(5) } or return {};
    return eval { decode_json($m->{payload}) } // {payload => $m->{payload}};
}

for my $channel ('room:kept', 'cluster:kept') {
    my $name = "a resume of $channel";
    is(post($channel, "m$_")->{seq}, $_, "$name - published $_") for 1 .. 3;
    my $ws = ws_connect(uri => '/ws');
    $ws->send_text(encode_json({op => 'subscribe', channel => $channel,
                                last_seq => 1, id => 'r'}));
    is_deeply(next_reply($ws),
              {op => 'ack', id => 'r', seq => 3, data => {members => ['bob']}},
              "$name - the ack carries the hook's data and the replay's end");
    for my $seq (2, 3) {
        is_deeply(next_reply($ws), {op => 'message', channel => $channel, seq => $seq,
                                    data => "m$seq"},
                  "$name - then message $seq");
    }
    post($channel, 'live');
    is(next_reply($ws)->{data}, 'live', "$name - then the live stream");
    $ws->disconnect;
}

check_logs($ngx);

done_testing();
