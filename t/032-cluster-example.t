# The cluster of `make run-cluster` (conf_examples/cluster, started by its
# run.sh as the Makefile does) on the test ports: nginx -t accepts both
# nodes, a message published on either node reaches clients of both, the
# load balancer of lb.conf routes /chat/<room> by room (hash consistent)
# and the rest round-robin, and stopping run.sh stops Redis and both
# nodes.
use Test::NgxWs;
use Test::NgxWs::Redis;
use Test::More;
use File::Path qw(make_path remove_tree);
use POSIX ();

plan(skip_all => 'redis-server is not installed')
    unless Test::NgxWs::Redis::available();

my $root = repo_root();
my $prefix = "$root/t/servroot/032-cluster-example";
my %port = (8081 => test_port() + 4, 8082 => test_port() + 5,
            8080 => test_port() + 6,
            6390 => Test::NgxWs::Redis::redis_port() + 1);

remove_tree($prefix);
make_path(map { "$prefix/$_" } qw(conf logs modules temp html redis));
symlink(module_path(), "$prefix/modules/ngx_http_ws_module.so") or die $!;
system('cp', "$root/conf_examples/chat.html", "$root/conf_examples/ws_client.js",
       "$prefix/html/") == 0 or die;

for my $file (glob "$root/conf_examples/cluster/*.conf") {
    my $text = do { local (@ARGV, $/) = $file; <> };
    $text =~ s/127\.0\.0\.1:(8080|8081|8082|6390)\b/127.0.0.1:$port{$1}/g;
    $text =~ s/^port 6390$/"port $port{6390}"/me;
    (my $name = $file) =~ s{.*/}{};
    open my $fh, '>', "$prefix/conf/$name" or die $!;
    print $fh $text;
    close $fh;
}

my $node2_port = $port{8082};
like(Test::NgxWs::slurp("$prefix/conf/node2.conf"), qr/listen 127\.0\.0\.1:$node2_port;/,
     'the example runs on the test ports');

my $pid = fork // die;
if (!$pid) {
    open STDOUT, '>', "$prefix/logs/run.out";
    open STDERR, '>&', \*STDOUT;
    exec "$root/conf_examples/cluster/run.sh", $prefix, nginx_bin();
}

ok(wait_for(sub { Test::NgxWs::slurp("$prefix/logs/run.out") =~ /Ctrl-C stops/ }, 15),
   'run.sh started redis and both nodes')
    or diag(Test::NgxWs::slurp("$prefix/logs/run.out"));
ok(wait_for(sub { my @up = Test::NgxWs::slurp("$prefix/logs/node1-error.log")
                           =~ /is up \(subscribe link\)/g; @up }, 10)
   && wait_for(sub { my @up = Test::NgxWs::slurp("$prefix/logs/node2-error.log")
                              =~ /is up \(subscribe link\)/g; @up }, 10),
   'both nodes subscribed to redis');

my $one = ws_connect(port => $port{8081}, uri => '/chat/lobby');
my $two = ws_connect(port => $port{8082}, uri => '/chat/lobby');

# the 101 may reach a client before its worker has subscribed
sub subscribers {
    my ($port) = @_;
    my $res = http_request(port => $port, timeout => 5, raw => "GET /pub/lobby HTTP/1.1\r\n"
        . "Host: localhost\r\nConnection: close\r\n\r\n");
    return $res->{body} =~ /"subscribers":(\d+)/ ? $1 : -1;
}
ok(wait_for(sub { subscribers($port{8081}) == 1 && subscribers($port{8082}) == 1 }, 5),
   'one subscriber on each node');

my $res = http_request(port => $port{8082}, raw => "POST /pub/lobby HTTP/1.1\r\n"
    . "Host: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
is($res->{status}, 200, 'POST /pub/lobby on node 2');
for ([1, $one], [2, $two]) {
    my $m = eval { $_->[1]->read_message(5) };
    is($m && $m->{payload}, 'hello', "a client of node $_->[0] receives it");
}

$one->send_text('typed on node 1');
my $m = eval { $two->read_message(5) };
is($m && $m->{payload}, 'typed on node 1', 'what a node-1 client sends reaches node 2');

$res = http_request(port => $port{8081}, raw => "GET /chat.html HTTP/1.1\r\n"
    . "Host: localhost\r\nConnection: close\r\n\r\n");
is($res->{status}, 200, 'the chat page is served');

$_->disconnect for $one, $two;

# ---- the load balancer: sticky rooms, round-robin for the rest ----

my $lb_out = `@{[nginx_bin()]} -p $prefix/ -c conf/lb.conf 2>&1`;
is($?, 0, 'the load balancer of lb.conf starts') or diag($lb_out);
my %node_name = ("127.0.0.1:$port{8081}" => 'node1', "127.0.0.1:$port{8082}" => 'node2');

# the node that took an upgrade through the load balancer
sub node_of {
    my ($uri) = @_;
    my $res = ws_handshake_answer(port => $port{8080}, uri => $uri);
    return $res->{status} == 101 ? $node_name{$res->{header}{'x-node'} // ''} // '?' : "status $res->{status}";
}

my (%room_nodes, %used);
for my $room (map { "room$_" } 1 .. 16) {
    my @nodes = map { node_of("/chat/$room") } 1 .. 4;
    $room_nodes{$room} = { map { $_ => 1 } @nodes };
    $used{$_}++ for @nodes;
}
ok(!(grep { keys %{ $room_nodes{$_} } != 1 } keys %room_nodes),
   'sticky: the four clients of each room went to one node')
    or diag(explain(\%room_nodes));
ok($used{node1} && $used{node2}, 'and the rooms spread over both nodes')
    or diag(explain(\%used));

my @rr = map { node_of('/ws') } 1 .. 6;
ok(!(grep { $rr[$_] eq $rr[$_ - 1] } 1 .. $#rr) && (grep { $_ eq 'node1' } @rr),
   'round-robin: /ws alternates between the nodes (' . join(' ', @rr) . ')');

# a room's clients meet on one node; a message still goes through
my $a = ws_connect(port => $port{8080}, uri => '/chat/room1');
my $b = ws_connect(port => $port{8080}, uri => '/chat/room1');
$a->send_text('via the load balancer');
$m = eval { $b->read_message(5) };
is($m && $m->{payload}, 'via the load balancer', 'a room works through the load balancer');
$_->disconnect for $a, $b;
system(nginx_bin() . " -p $prefix/ -c conf/lb.conf -s quit 2>/dev/null");
my $lb_pid = Test::NgxWs::slurp("$prefix/logs/lb.pid") =~ /(\d+)/ ? $1 : 0;
ok(!$lb_pid || wait_for(sub { !kill 0, $lb_pid }, 10), 'the load balancer stops');

SKIP: {
    skip 'no /usr/bin/python3 with websockets', 1
        unless system('/usr/bin/python3 -c "import websockets" 2>/dev/null') == 0;
    my $out = run_bounded("/usr/bin/python3 $root/t/interop/python_cluster_client.py 127.0.0.1:$port{8081} 127.0.0.1:$port{8082}");
    ok($? == 0 && $out =~ /^ok /m, 'python websockets: cross-node delivery and resume')
        or diag($out);
}

my %pids = map { $_ => (Test::NgxWs::slurp("$prefix/$_") =~ /(\d+)/ ? $1 : 0) }
           qw(logs/node1.pid logs/node2.pid redis/redis.pid);
kill 'TERM', $pid;
waitpid $pid, 0;
for my $f (sort keys %pids) {
    my $p = $pids{$f};
    ok($p && wait_for(sub { !kill 0, $p }, 10), "stopping run.sh stops the process of $f");
}

my $logs = join '', map { Test::NgxWs::slurp("$prefix/logs/$_-error.log") } qw(node1 node2 lb);
my @bad = Test::NgxWs::bad_log_lines($logs);
ok(!@bad, 'error logs clean') or diag(join "\n", @bad);

done_testing();
