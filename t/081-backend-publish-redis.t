# The message hook's publish filter on a cross-node channel
# (ws_redis_channels): what the backend lets through is published through
# Redis, and the publisher's ack comes once Redis has numbered it; a
# refusal never reaches Redis (nothing is numbered for it); with Redis gone, a publish the backend let
# through is answered "unavailable" (and the connection goes on).
use Test::NgxWs;
use Test::NgxWs::Redis;
use Test::More;
use JSON::PP qw(decode_json);

plan(skip_all => 'redis-server is not installed')
    unless Test::NgxWs::Redis::available();

my $redis = Test::NgxWs::Redis->new;
$redis->start;
my $rport = $redis->{port};

my $json = <<'CONF';
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
CONF

my $ngx = start_nginx(name => 'publish hook, redis', log_level => 'info',
    http_config => <<"HTTP", config => <<"CONF");
    ws_zone pub 1m;
    ws_redis 127.0.0.1:$rport timeout=1s;
    ws_redis_channels room:*;
HTTP
    location = /watch {
$json
    }
    location = /ws {
$json
        ws_backend_message /internal/moderate;
    }
    location = /internal/moderate {
        internal;
        default_type application/json;
        return 200 '{"moderated":true}';
    }
    location = /refuse {
$json
        ws_backend_message /internal/refuse;
    }
    location = /internal/refuse { internal; return 403 "no spam"; }
CONF

ok(wait_for(sub { $ngx->error_log =~ /is up \(subscribe link\)/
                  && $ngx->error_log =~ /is up \(publish link\)/ }, 10),
   'linked to redis');

sub next_json {
    my ($ws) = @_;
    my $m = eval { $ws->read_message(5) } or return {};
    return eval { decode_json($m->{payload}) } // {};
}

my $watch = ws_connect(uri => '/watch');
$watch->send_text('{"op":"subscribe","channel":"room:r","id":"w"}');
is(next_json($watch)->{op}, 'ack', 'a watcher in room:r');

my $ws = ws_connect(uri => '/ws');
$ws->send_text('{"op":"publish","channel":"room:r","data":"hi","id":1}');
my $ack = next_json($ws);
is($ack->{op}, 'ack', 'let through: acknowledged');
is($ack->{id}, 1, 'with the id');
ok($ack->{seq}, "with the number Redis gave ($ack->{seq})");
my $m = next_json($watch);
is_deeply($m->{data}, {moderated => JSON::PP::true},
          'the answer went through Redis instead of the data, as JSON');
is($m->{seq}, $ack->{seq}, 'under that number');

my $refused = ws_connect(uri => '/refuse');
$refused->send_text('{"op":"publish","channel":"room:r","data":"buy spam","id":2}');
is_deeply(next_json($refused), {op => 'error', id => 2, code => 'rejected',
                                status => 403, message => 'no spam'},
          'refused: the error, with the backend\'s body');
$ws->send_text('{"op":"publish","channel":"room:r","data":"hi","id":5}');
is(next_json($ws)->{seq}, $ack->{seq} + 1,
   'and nothing was numbered for it: the next publish is the next number');
is(next_json($watch)->{seq}, $ack->{seq} + 1, 'which is what the watcher gets next');
$refused->send_close(1000);
$refused->expect('close 1000', 'the refused publisher closes', 1);

$redis->kill_server;
ok(wait_for(sub { $ngx->error_log =~ /ws: redis \S+ is down/ }, 10),
   'the node saw Redis go');
$ws->send_text('{"op":"publish","channel":"room:r","data":"again","id":3}');
my $err = next_json($ws);
is($err->{id}, 3, 'Redis down: a reply to the publish');
is($err->{code}, 'unavailable', "unavailable ($err->{message})");
$ws->send_text('{"op":"publish","channel":"other","data":"x","id":4}');
is(next_json($ws)->{code}, 'forbidden', 'the connection goes on');

$ws->send_close(1000);
$ws->expect('close 1000', 'the publisher closes', 1);
$watch->send_close(1000);
$watch->expect('close 1000', 'the watcher closes', 1);
check_logs($ngx);

done_testing();
