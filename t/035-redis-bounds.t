# A Redis that stops answering (SIGSTOP) within a long timeout: a worker
# holds at most 10000 unanswered commands; the next publish is refused
# (a ws_publish client is closed with 1013, logged once) instead of
# growing the worker's memory. When Redis answers again, the commands it
# was sent are published and delivered.
use Test::NgxWs;
use Test::NgxWs::Redis;
use Test::More;
use Time::HiRes qw(sleep time);

plan(skip_all => 'redis-server is not installed')
    unless Test::NgxWs::Redis::available();

my $redis = Test::NgxWs::Redis->new(port => Test::NgxWs::Redis::redis_port() + 4);
$redis->start;
my $rport = $redis->{port};
my $port = test_port();
my $name = 'bounded while redis hangs';

my $ngx = start_nginx(name => $name, log_level => 'info',
    http_config => "ws_zone test 8m;\n    ws_redis 127.0.0.1:$rport timeout=60s;\n"
                 . "    ws_redis_channels room:*;",
    config => <<'CONF');
    location = /sub { ws_listen; ws_subscribe room:b; ws_send_buffer 4m; }
    location = /pub { ws_listen; ws_publish room:b; ws_max_message_size 64; }
CONF

ok(wait_for(sub { $ngx->error_log =~ /is up \(subscribe link\)/ }, 10), "$name: subscribed");
my $sub = ws_connect(port => $port, uri => '/sub');
my $pub = ws_connect(port => $port, uri => '/pub');

$redis->pause;
$pub->send_text("m$_") for 1 .. 10001;
my $m;
for (1 .. 3) {
    $m = eval { $pub->read_message(20) } or last;
    last if $m->{op} eq 'close';
}
is($m && $m->{code}, 1013, "$name: the publish past 10000 waiting commands is refused: 1013");
like($ngx->error_log, qr/redis 127\.0\.0\.1:$rport is not keeping up \(10000 commands waiting\)/,
     "$name: logged");
# a second refusal, so that "once" is not once for want of another
my $pub2 = ws_connect(port => $port, uri => '/pub');
$pub2->send_text('one more');
my $m2;
for (1 .. 3) {
    $m2 = eval { $pub2->read_message(20) } or last;
    last if $m2->{op} eq 'close';
}
is($m2 && $m2->{code}, 1013, "$name: the next publish is refused too");
$pub2->disconnect;
my @lines = $ngx->error_log =~ /is not keeping up/g;
is(scalar @lines, 1, "$name: once");
$pub->disconnect;

$redis->resume;
my ($count, $order) = (0, 1);
while ($count < 10000) {
    my $got = eval { $sub->read_message(20) } or last;
    $count++;
    $order = 0 unless $got->{payload} eq "m$count";
}
is($count, 10000, "$name: once redis answers, the 10000 it was sent are delivered");
ok($order, "$name: in order");

$sub->disconnect;
check_logs($ngx);
done_testing();
