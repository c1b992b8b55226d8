# ws_redis's ways to reach and log into Redis, each against a real
# redis-server that insists on it: password= with requirepass, db= (the
# counters land in that database and no other), prefix= (in the keys Redis
# holds and in the names of its pub/sub channels), and user= with an ACL
# user over a unix: socket, whose rules allow only the prefix's keys and
# channels. Without the credentials the same node stays down: the checks
# depend on them.
use Test::NgxWs;
use Test::NgxWs::Redis;
use Test::More;
use Time::HiRes qw(sleep time);

plan(skip_all => 'redis-server is not installed')
    unless Test::NgxWs::Redis::available();

my $port = test_port();

my $config = <<'CONF';
    location ~ ^/chat/(?<room>\w+)$ { ws_listen; ws_subscribe room:$room; }
    location ~ ^/pub/(?<c>[\w:]+)$ { ws_publisher $c; }
    location = /readyz { ws_health ready; }
CONF

sub node {
    my ($name, $redis) = @_;
    return start_nginx(name => $name, log_level => 'info', config => $config,
                       http_config => "    ws_zone auth 1m;\n"
                                    . "    ws_redis $redis timeout=1s;\n"
                                    . "    ws_redis_channels room:*;\n");
}

sub http_get_status {
    my ($uri) = @_;
    return http_request(port => $port, raw => "GET $uri HTTP/1.1\r\n"
                        . "Host: localhost\r\nConnection: close\r\n\r\n")->{status};
}

sub publish {
    my ($channel, $body) = @_;
    return http_request(port => $port, raw => "POST /pub/$channel HTTP/1.1\r\n"
        . "Host: localhost\r\nConnection: close\r\nContent-Type: text/plain\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body")->{status};
}

sub subscribers {
    my ($channel) = @_;
    my $res = http_request(port => $port, raw => "GET /pub/$channel HTTP/1.1\r\n"
                           . "Host: localhost\r\nConnection: close\r\n\r\n");
    return $res->{body} =~ /"subscribers":(\d+)/ ? $1 : -1;
}

# A node that cannot log in: Redis's reason is logged, the link stays
# down, and the node is not ready.
sub refused_login {
    my ($name, $redis, $why) = @_;
    my $ngx = node($name, $redis);
    ok(wait_for(sub { $ngx->error_log =~ /ws: redis \S+ refused (AUTH|PING): \Q$why\E/
                      && $ngx->error_log =~ /ws: redis \S+ is down \(publish link\)/ }, 5),
       "$name - the link stays down, Redis's reason logged: $why")
        or diag(join "\n", grep { /redis/ } split /\n/, $ngx->error_log);
    unlike($ngx->error_log, qr/is up \(publish link\)/, "$name - never up");
    is(http_get_status('/readyz'), 503, "$name - not ready");
    check_logs($ngx);
}

# Redis's own view of what a publish sent: a redis-cli subscribed to every
# channel, its output in a file. Returns a sub that stops it and gives the
# output.
sub watch_channels {
    my ($redis, $pattern) = @_;
    my $file = "$redis->{dir}/psubscribe.out";
    my @cli = ('/usr/bin/redis-cli', '-p', $redis->{port}, @{ $redis->{cli_args} },
               '--no-auth-warning', 'PSUBSCRIBE', $pattern);
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', $file or die;
        open STDERR, '>', '/dev/null';
        exec @cli or exit 1;
    }
    wait_for(sub { Test::NgxWs::slurp($file) =~ /psubscribe/ }, 5)
        or diag("redis-cli PSUBSCRIBE did not start");
    return sub {
        kill 'TERM', $pid;
        waitpid $pid, 0;
        return Test::NgxWs::slurp($file);
    };
}

# Publishes through the node and checks the subscriber gets it back
# through Redis; returns the channels Redis saw it on.
sub round_trip {
    my ($name, $ngx, $redis, $room, $text, $pattern) = @_;
    ok(wait_for(sub { $ngx->error_log =~ /is up \(publish link\)/
                      && $ngx->error_log =~ /is up \(subscribe link\)/ }, 5),
       "$name - both links up")
        or diag(join "\n", grep { /redis/ } split /\n/, $ngx->error_log);
    is(http_get_status('/readyz'), 200, "$name - ready");
    my $ws = ws_connect(uri => "/chat/$room");
    ok(wait_for(sub { subscribers("room:$room") == 1 }, 5), "$name - subscribed");
    my $stop = watch_channels($redis, $pattern);
    is(publish("room:$room", $text), 200, "$name - published");
    $ws->expect("text $text", "$name - delivered through redis");
    # give the watcher the message the node itself has received
    sleep 0.2;
    my $seen = $stop->();
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    return $seen;
}

# ---------------------------------------------------------------- #
# requirepass: password=, db=, prefix= over TCP
# ---------------------------------------------------------------- #
{
    my $redis = Test::NgxWs::Redis->new(args => ['--requirepass', 's3cret'],
                                        cli_args => ['-a', 's3cret']);
    $redis->start;
    my $rport = $redis->{port};
    is($redis->cli('-n', 0, 'DBSIZE'), '0', 'requirepass: redis starts empty');

    refused_login('no password', "127.0.0.1:$rport", 'NOAUTH Authentication required');
    refused_login('wrong password', "127.0.0.1:$rport password=other",
                  'WRONGPASS');

    my $name = 'password= db=5 prefix=app1:';
    my $ngx = node($name, "127.0.0.1:$rport password=s3cret db=5 prefix=app1:");
    my $seen = round_trip($name, $ngx, $redis, 'one', 'hello through redis', '*');
    like($seen, qr/^app1:msg:room:one$/m,
         "$name - the pub/sub channel in Redis carries the prefix");
    unlike($seen, qr/^ngx_ws:/m, "$name - and nothing else under the default prefix");
    is($redis->cli('-n', 5, 'KEYS', '*'), 'app1:seq:room:one',
       "$name - the sequence counter is in db 5, under the prefix");
    is($redis->cli('-n', 5, 'GET', 'app1:seq:room:one'), '1', "$name - counted once");
    is($redis->cli('-n', 0, 'DBSIZE'), '0', "$name - db 0 stays empty");
    check_logs($ngx);
    $redis->kill_server;
}

# ---------------------------------------------------------------- #
# an ACL user over a unix socket: user=, password=, prefix=, unix:
# ---------------------------------------------------------------- #
{
    my $dir = Test::NgxWs::servroot() . '-redis-acl';
    my $sock = "$dir/redis.sock";
    # the default user is off: only "ngx" may log in, and only to keys
    # and channels under app2: (a PSUBSCRIBE pattern must be one of the
    # user's channel patterns, letter for letter)
    my $redis = Test::NgxWs::Redis->new(dir => $dir,
        args => ['--port', 0, '--unixsocket', $sock, '--unixsocketperm', 777,
                 '--user', 'ngx', 'on', '>pw2', '~app2:*', '&app2:msg:*', '+@all',
                 '--user', 'default', 'off'],
        cli_args => ['-s', $sock, '--user', 'ngx', '--pass', 'pw2']);
    $redis->start;
    isnt(system("/usr/bin/redis-cli -p $redis->{port} PING 2>/dev/null | grep -q PONG"), 0,
         'acl: redis does not listen on TCP');

    refused_login('password without its user', "unix:$sock password=pw2",
                  'WRONGPASS');
    {
        # logged in, but the default prefix is out of the user's reach
        my $name = 'the ACL user under the default prefix';
        my $ngx = node($name, "unix:$sock user=ngx password=pw2");
        ok(wait_for(sub { $ngx->error_log =~ /ws: redis \S+ refused PSUBSCRIBE: NOPERM /
                          && $ngx->error_log =~ /is down \(subscribe link\): PSUBSCRIBE refused/ }, 5),
           "$name - the subscribe link is refused, Redis's reason logged")
            or diag(join "\n", grep { /redis/ } split /\n/, $ngx->error_log);
        isnt(publish('room:x', 'nope'), 200, "$name - a publish is refused");
        ok(wait_for(sub { $ngx->error_log =~ /ws: redis \S+ refused a publish: NOPERM/ }, 5),
           "$name - with Redis's reason");
        check_logs($ngx);
    }

    my $name = 'unix: user= password= prefix=app2:';
    my $ngx = node($name, "unix:$sock user=ngx password=pw2 prefix=app2:");
    my $seen = round_trip($name, $ngx, $redis, 'two', 'hello through a socket',
                          'app2:msg:*');
    like($seen, qr/^app2:msg:room:two$/m,
         "$name - the pub/sub channel in Redis carries the prefix");
    is($redis->cli('KEYS', '*'), 'app2:seq:room:two',
       "$name - the sequence counter is under the prefix");
    check_logs($ngx);
    $redis->kill_server;
}

done_testing();
