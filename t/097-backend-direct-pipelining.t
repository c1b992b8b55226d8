# The direct client (a hook named "http://NAME/path") against real
# backends behind an upstream{} with several servers: two Node http
# servers (round robin between them, answers in order with many calls
# pipelined on few upstream connections), an NGINX "return" location on
# another server block, the demo backend (conf_examples/demo_backend.py:
# chat moderation, the JSON protocol's rpc, the close hook), and a group
# whose second server is down.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::MessageBackend;
use JSON::PP qw(decode_json);
use IO::Socket::INET;

my $port = test_port();
my ($n1, $n2, $ret, $demo, $down, $rude) = map { $port + $_ } 1 .. 6;

Test::NgxWs::MessageBackend->start(port => $n1);
Test::NgxWs::MessageBackend->start(port => $n2);

start_demo_backend($demo, repo_root() . '/t/servroot/097-demo-backend.log');

# a server that reads a request and closes without an answer
my $rude_listen = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$rude",
                                        Listen => 16, ReuseAddr => 1)
    or die "listen $rude: $!";
my $rude_pid = fork // die "fork: $!";
if ($rude_pid == 0) {
    while (my $c = $rude_listen->accept) { my $buf; sysread($c, $buf, 65536); close $c }
    exit 0;
}
close $rude_listen;
END { kill 'TERM', $rude_pid if $rude_pid }
ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$demo") }, 10),
   'the demo backend listens');

my $http = <<CONF;
    ws_zone direct 1m;
    ws_backend_connections 4;
    ws_backend_pipeline 8;
    ws_backend_timeout 5s;
    upstream node { server 127.0.0.1:$n1; server 127.0.0.1:$n2; }
    upstream ret { server 127.0.0.1:$ret; }
    upstream demo { server 127.0.0.1:$demo; }
    upstream half { server 127.0.0.1:$n1; server 127.0.0.1:$down; }
    upstream flaky {
        server 127.0.0.1:$rude max_fails=1 fail_timeout=60s;
        server 127.0.0.1:$n2;
    }
    server {
        listen 127.0.0.1:$ret;
        location /replace { return 200 "from nginx"; }
    }
CONF

my $config = <<CONF;
    location /order {
        ws_listen;
        ws_backend_message http://node/message?jitter=3;
        ws_backend_message_inflight 8;
    }
    location /return {
        ws_listen;
        ws_backend_message http://ret/replace;
    }
    location /half {
        ws_listen;
        ws_backend_message http://half/message;
        ws_backend_message_inflight 4;
    }
    location /flaky {
        ws_listen;
        ws_backend_message http://flaky/message;
    }
    location ~ ^/chat/(?<room>\\w+)\$ {
        ws_listen;
        ws_subscribe room:\$room;
        ws_publish room:\$room;
        ws_backend_message http://demo/chat/message;
        ws_backend_close http://demo/close;
    }
    location = /ws {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
        ws_backend_message http://demo/ws/rpc;
    }
    location = /metrics { ws_status; }
CONF

my $ngx = start_nginx(name => 'direct hooks', log_level => 'info',
                      http_config => $http, config => $config);

sub count {
    my ($p) = @_;
    my $body = http_request(port => $p, raw =>
        "GET /count HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")->{body};
    return decode_json($body);
}

# $clients connections each streaming $n messages, 8 in flight each;
# every answer checked in order.
sub stream {
    my ($clients, $n, $name) = @_;
    my @ws = map { ws_connect(uri => '/order') } 1 .. $clients;
    my (@sent, @got, @bad);
    for my $i (0 .. $#ws) {
        $sent[$i] = 0; $got[$i] = 0;
        while ($sent[$i] < 20 && $sent[$i] < $n) { $sent[$i]++; $ws[$i]->send_text("c${i}m$sent[$i]") }
    }
    my $left = $clients;
    my $deadline = time + 120;
    while ($left && time < $deadline) {
        for my $i (0 .. $#ws) {
            next if $got[$i] == $n;
            my $m = $ws[$i]->read_message(10) or do { push @bad, "c$i: no answer"; $got[$i] = $n; $left--; next };
            $got[$i]++;
            push @bad, "c$i: $m->{payload} at $got[$i]" if $m->{payload} ne "re:c${i}m$got[$i]";
            if ($sent[$i] < $n) { $sent[$i]++; $ws[$i]->send_text("c${i}m$sent[$i]") }
            $left-- if $got[$i] == $n;
        }
    }
    is(scalar @bad, 0, "$name - every answer, in the order sent") or diag("@bad[0..($#bad < 4 ? $#bad : 4)]");
    $_->disconnect for @ws;
}

{
    my $name = '10,000 messages of one client, 8 in flight';
    stream(1, 10_000, $name);
}

{
    my $name = '20 clients, 300 messages each, on 4 pipelined upstream connections';
    my ($a0, $b0) = (count($n1), count($n2));
    stream(20, 300, $name);
    my ($a1, $b1) = (count($n1), count($n2));
    my ($ca, $cb) = ($a1->{calls} - $a0->{calls}, $b1->{calls} - $b0->{calls});
    is($ca + $cb, 6000, "$name - 6,000 calls");
    # round robin: the 4 connections go 2 and 2 to the servers
    ok($ca > 1000 && $cb > 1000, "$name - both servers of the group called ($ca, $cb)");
    # every connection ever opened to them, less the two of count() each
    my $conns = $a1->{sockets} + $b1->{sockets} - 4;
    ok($conns <= 4, "$name - over at most ws_backend_connections connections ($conns)");
    my $most = $a1->{most} > $b1->{most} ? $a1->{most} : $b1->{most};
    ok($most > 2, "$name - several calls at once on one server's 2 connections: pipelined ($most)");
    ok($most <= 16, "$name - never over 2 x ws_backend_pipeline ($most)");
}

{
    my $name = 'an NGINX return location on another server block';
    my $ws = ws_connect(uri => '/return');
    $ws->send_text("m$_") for 1 .. 50;
    my @got = map { my $m = eval { $ws->read_message(5) }; $m ? $m->{payload} : 'none' } 1 .. 50;
    is(scalar(grep { $_ eq 'from nginx' } @got), 50, "$name - every message replaced by its body");
    $ws->disconnect;
}

{
    my $name = 'one server of the group down';
    my $c0 = count($n1)->{calls};
    my $ws = ws_connect(uri => '/half');
    $ws->send_text("m$_") for 1 .. 40;
    my @got = map { my $m = eval { $ws->read_message(5) }; $m ? $m->{payload} : 'none' } 1 .. 40;
    is_deeply(\@got, [map { "re:m$_" } 1 .. 40], "$name - every message answered, in order, by the live one");
    is(count($n1)->{calls} - $c0, 40, "$name - all 40 calls on the live server");
    my $log = $ngx->error_log;
    my $lines = () = $log =~ /ws: backend server 127\.0\.0\.1:$down of "half" failed/g;
    is($lines, 1, "$name - the dead server logged once");
    unlike(metrics($port), qr/^ngx_ws_backend_calls_total\{hook="message",status="5xx"\} [1-9]/m,
           "$name - no call failed");
    $ws->disconnect;
}

sub calls_counted {
    my ($class) = @_;
    my ($n) = metrics($port) =~ /^ngx_ws_backend_calls_total\{hook="message",status="$class"\} (\d+)$/m;
    return $n // 0;
}

{
    my $name = 'a server that fails is skipped for fail_timeout';
    # each answer closes its connection: every call opens a new one, and
    # round robin would give every other one to the server that fails
    my ($ok0, $bad0) = (calls_counted('2xx'), calls_counted('5xx'));
    my $ws = ws_connect(uri => '/flaky');
    for my $i (1 .. 20) {
        $ws->send_text(order(status => 200, body => "ok$i", headers => { Connection => 'close' }));
        wait_for(sub { calls_counted('2xx') + calls_counted('5xx') - $ok0 - $bad0 >= $i }, 5);
    }
    my ($ok, $bad) = (calls_counted('2xx') - $ok0, calls_counted('5xx') - $bad0);
    is($ok + $bad, 20, "$name - 20 calls done");
    ok($bad <= 1, "$name - at most the first call failed ($bad)");
    like($ngx->error_log, qr/backend server 127\.0\.0\.1:$rude of "flaky" failed \(the connection closed under calls\); not called for 60 s/,
         "$name - logged, with why");
    $ws->disconnect;
}

{
    my $name = 'the demo backend: chat moderation';
    my $alice = ws_connect(uri => '/chat/lobby');
    my $bob = ws_connect(uri => '/chat/lobby');
    $alice->send_text('buy cheap spam');
    $alice->expect('text not sent: this room does not take spam', "$name - spam refused to the sender alone");
    $alice->send_text('/me waves');
    my $m = $bob->read_message(5);
    like($m && $m->{payload}, qr/^\* \d+ waves$/, "$name - /me rewritten for the room");
    $alice->send_text('hello');
    $bob->expect('text hello', "$name - the rest passes (304), and the room never saw the spam");
    $alice->send_close(1000);
    my $op = '';
    while (my $r = $alice->read_message(5)) { $op = $r->{op}; last if $op eq 'close' }
    is($op, 'close', "$name - closed");
    ok(wait_for(sub { Test::NgxWs::slurp(repo_root() . "/t/servroot/097-demo-backend.log") =~ /close \d+ code=1000 closed_by=client/ }, 5),
       "$name - the close hook told the demo backend");
    $bob->disconnect;
}

{
    my $name = 'the demo backend: the JSON protocol rpc';
    my $ws = ws_connect(uri => '/ws');
    $ws->send_text('{"op":"rpc","method":"whoami","id":7}');
    my $m = $ws->read_message(5);
    my $r = $m && eval { decode_json($m->{payload}) };
    is($r && $r->{id}, 7, "$name - the ack carries the id");
    like($r && $r->{data}{connection_id}, qr/^\d+$/, "$name - and the caller's connection id");
    $ws->send_text('{"op":"rpc","method":"nope","id":8}');
    $m = $ws->read_message(5);
    like($m && $m->{payload}, qr/"id":8.*"error"|"error".*"id":8/, "$name - a 404 is the request's error");
    $ws->disconnect;
}

check_logs($ngx, undef, allow => [qr/ws: backend server \S+ of "(half|flaky)" failed/,
                                  qr/message hook "http:\/\/flaky\/message" failed/]);

done_testing();
