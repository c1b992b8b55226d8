# A reload with cross-node channels: for a while the old worker 0 (kept
# alive by a client that does not answer its close frame) and the new
# worker 0 are both subscribed to Redis, so each message arrives twice;
# the zone delivers it once, by its sequence number. Nothing is lost.
use Test::NgxWs;
use Test::NgxWs::Redis;
use Test::More;
use Time::HiRes qw(sleep time);

plan(skip_all => 'redis-server is not installed')
    unless Test::NgxWs::Redis::available();

my $redis = Test::NgxWs::Redis->new(port => Test::NgxWs::Redis::redis_port() + 3);
$redis->start;
my $rport = $redis->{port};
my $port = test_port();
my $name = 'reload with redis';

my $ngx = start_nginx(name => $name, log_level => 'info',
    http_config => "ws_zone test 4m;\n    ws_redis 127.0.0.1:$rport timeout=1s;\n"
                 . "    ws_redis_channels room:*;",
    config => <<'CONF');
    ws_close_timeout 10s;
    location ~ ^/chat/(?<room>\w+)$ { ws_listen; ws_subscribe room:$room; }
    location ~ ^/pub/(?<c>[\w:]+)$ { ws_publisher $c; }
CONF

sub subscribed { my @l = $ngx->error_log =~ /is up \(subscribe link\)/g; scalar @l }
sub post {
    my ($body) = @_;
    return http_request(port => $port, timeout => 10,
        raw => "POST /pub/room:a HTTP/1.1\r\nHost: x\r\nContent-Length: "
             . length($body) . "\r\nConnection: close\r\n\r\n$body")->{status};
}

ok(wait_for(sub { subscribed() == 1 }, 10), "$name: worker 0 subscribed");
my ($old) = $ngx->workers;

# keeps the old worker alive after the reload: it never answers the close
my $stuck = ws_connect(port => $port, uri => '/chat/a', no_close_reply => 1);
is(post('before'), 200, "$name: publish before the reload");

$ngx->signal('HUP');
ok(wait_for(sub { subscribed() == 2 }, 10), "$name: the new worker 0 subscribed too");
ok(Test::NgxWs::Nginx::alive($old), "$name: the old worker is still there, subscribed");
my $bye;
for (1 .. 3) {    # "before" first, then the close frame
    $bye = eval { $stuck->read_message(5) } or last;
    last if $bye->{op} eq 'close';
}
is($bye && $bye->{code}, 1001, "$name: the old worker is closing (1001), no longer accepting");

my $ws = ws_connect(port => $port, uri => '/chat/a');
# the 101 may come before the worker has subscribed: until a probe arrives
ok(wait_for(sub { post('probe') == 200
                  && (eval { $ws->read_message(0.5) } // {})->{payload} eq 'probe' }, 10),
   "$name: the new client is subscribed");
my $all = 1;
for my $i (1 .. 5) {
    $all = 0 unless post("m$i") == 200;
}
ok($all, "$name: five publishes during the overlap");
ok(Test::NgxWs::Nginx::alive($old), "$name: with both workers 0 subscribed throughout");
post('marker');

my @got;
while (@got < 6) {
    my $m = eval { $ws->read_message(5) };
    my $t = $m ? $m->{payload} : 'nothing';
    next if $t eq 'probe';    # a late copy of a probe that was not waited for
    push @got, $t;
    last if $t eq 'nothing';
}
is("@got", 'm1 m2 m3 m4 m5 marker', "$name: each message delivered once, in order");

$stuck->disconnect;
ok(wait_for(sub { !Test::NgxWs::Nginx::alive($old) }, 15), "$name: the old worker exits");
$ws->disconnect;
check_logs($ngx);
done_testing();
