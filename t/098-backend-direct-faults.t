# Faults of the direct client give each call the subrequest path's
# result (docs/backends.md): a server refusing connections (502), not
# answering within ws_backend_timeout (504), answering garbage (502) or a
# body over subrequest_output_buffer_size (502, that call alone), closing
# its connection under pipelined calls (502 for those written); an answer
# with "Connection: close" counts and the calls behind it go on another
# connection. Each failure is counted in /metrics, the hook's failing is
# logged when it starts, the WebSocket goes on. nginx -t refuses an
# unknown upstream, a malformed URL and bad client directives.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::MessageBackend;

my $port = test_port();
my $nport = $port + 1;
my $down = $port + 2;          # nothing listens there

Test::NgxWs::MessageBackend->start(port => $nport);

my $http = <<CONF;
    ws_zone faults 1m;
    ws_backend_connections 1;
    ws_backend_pipeline 8;
    ws_backend_timeout 1s;
    upstream node { server 127.0.0.1:$nport; }
    upstream down { server 127.0.0.1:$down; }
CONF

my $config = <<CONF;
    location /node {
        ws_listen;
        ws_backend_message http://node/message;
        ws_backend_message_inflight 4;
        subrequest_output_buffer_size 4k;
    }
    location /down {
        ws_listen;
        ws_backend_message http://down/message;
    }
    location /hostport {
        ws_listen;
        ws_backend_message http://127.0.0.1:$nport/message;
    }
    location = /metrics { ws_status; }
CONF

my $ngx = start_nginx(name => 'direct hook faults', log_level => 'info',
                      http_config => $http, config => $config);

my $failed = 0;
sub failures {
    my ($n, $name) = @_;
    $failed += $n;
    ok(wait_for(sub { metrics($port) =~ /^ngx_ws_backend_calls_total\{hook="message",status="5xx"\} $failed$/m }, 5),
       "$name - $n more calls failed, counted as 5xx");
}

sub survives {
    my ($ws, $name) = @_;
    $ws->send_text(order(status => 200, body => 'alive'));
    $ws->expect('text alive', $name);
}

{
    my $name = 'host:port in place of an upstream name';
    my $ws = ws_connect(uri => '/hostport');
    $ws->send_text('hi');
    $ws->expect('text re:hi', "$name - called");
    $ws->disconnect;
}

{
    my $name = 'a server that refuses connections';
    my $ws = ws_connect(uri => '/down');
    $ws->send_text("m$_") for 1 .. 3;
    failures(3, $name);
    $ws->send_ping('p');
    $ws->expect('pong p', "$name - nothing sent, the connection open");
    my $log = $ngx->error_log;
    my $lines = () = $log =~ /message hook "http:\/\/down\/message" failed with 502/g;
    is($lines, 1, "$name - the hook's failing logged once for three failures");
    $lines = () = $log =~ /backend server 127\.0\.0\.1:$down of "down" failed \(connect\(\) failed\)/g;
    is($lines, 1, "$name - the server's failing logged once, with why");
    $ws->disconnect;
}

{
    my $name = 'a server that does not answer in time';
    my $ws = ws_connect(uri => '/node');
    # one upstream connection: the call pipelined behind waits with it
    $ws->send_text(order(hang => 1));
    $ws->send_text(order(status => 200, body => 'behind'));
    failures(2, "$name - both written calls fail after ws_backend_timeout");
    survives($ws, "$name - the next one is answered on a new connection");
    like($ngx->error_log, qr/message hook "http:\/\/node\/message" failed with 504/, "$name - a 504, logged");
    $ws->disconnect;
}

{
    my $name = 'a server that answers garbage';
    my $ws = ws_connect(uri => '/node');
    $ws->send_text(order(garbage => 1));
    survives($ws, "$name - dropped, the next one answered");
    failures(1, $name);
    like($ngx->error_log, qr/direct backend call failed with 502: an invalid status line/, "$name - why, at info");
    $ws->disconnect;
}

{
    my $name = 'an answer longer than subrequest_output_buffer_size';
    my $ws = ws_connect(uri => '/node');
    $ws->send_text(order(status => 200, body_size => 5000));
    $ws->send_text(order(status => 200, body_size => 4000));
    my $m = $ws->read_message(5);
    is($m && length($m->{payload}), 4000, "$name - dropped; the next one, on the same connection, fits and goes through");
    failures(1, $name);
    like($ngx->error_log, qr/failed with 502: an answer longer than subrequest_output_buffer_size/, "$name - why");
    $ws->disconnect;
}

{
    my $name = 'a server that closes its connection under pipelined calls';
    my $ws = ws_connect(uri => '/node');
    # one upstream connection: the two after it are written behind it
    $ws->send_text(order(delay_ms => 300, garbage => 1));
    $ws->send_text(order(delay_ms => 300, status => 200, body => 'b'));
    $ws->send_text(order(delay_ms => 300, status => 200, body => 'c'));
    $ws->send_text(order(status => 200, body => 'd'));
    failures(4, "$name - the four written on it fail");
    survives($ws, "$name - the next call goes on a new connection");
    $ws->disconnect;
}

{
    my $name = 'an answer with Connection: close';
    my $ws = ws_connect(uri => '/node');
    $ws->send_text(order(delay_ms => 200, status => 200, body => 'closing',
                         headers => { Connection => 'close' }));
    $ws->send_text(order(status => 200, body => 'second'));
    $ws->send_text(order(status => 200, body => 'third'));
    my @got = map { my $m = eval { $ws->read_message(5) }; $m ? $m->{payload} : 'none' } 1 .. 3;
    is_deeply(\@got, [qw(closing second third)], "$name - that answer and the ones behind it, in order");
    failures(0, "$name - none failed");
    $ws->disconnect;
}

check_logs($ngx, undef, allow => [qr/backend server \S+ of "down" failed/]);

for my $case (
    ['ws_backend_message http://nowhere/x;', '',
     qr/"ws_backend_message" names no upstream "nowhere" in "http:\/\/nowhere\/x" in \S+nginx\.conf:\d+/],
    ['ws_backend_close http:///x;', '',
     qr/"ws_backend_close" has no upstream name in "http:\/\/\/x" in \S+nginx\.conf:\d+/],
    ['ws_backend_subscribe "http://u/a b";', 'upstream u { server 127.0.0.1:1; }',
     qr/"ws_backend_subscribe" has an invalid path in "http:\/\/u\/a b" in \S+nginx\.conf:\d+/],
    ['ws_backend_message http://127.0.0.1:99999/x;', '',
     qr/"ws_backend_message" has an invalid address in "http:\/\/127\.0\.0\.1:99999\/x" in \S+nginx\.conf:\d+/],
    ['ws_backend_connect http://u/connect;', 'upstream u { server 127.0.0.1:1; }',
     qr/"ws_backend_connect" needs the URI of a location.* in \S+nginx\.conf:\d+/],
    ['', 'ws_backend_connections 0;',
     qr/"ws_backend_connections" directive must be between 1 and 1024 in \S+nginx\.conf:\d+/],
    ['', 'ws_backend_pipeline 257;',
     qr/"ws_backend_pipeline" directive must be between 1 and 256 in \S+nginx\.conf:\d+/],
    ['', 'ws_backend_timeout soon;',
     qr/"ws_backend_timeout" directive invalid value in \S+nginx\.conf:\d+/],
) {
    my ($location, $http, $want) = @$case;
    my ($rc, $out) = nginx_check_config(dir => '098-config', http => $http,
                                        location => "ws_listen; $location");
    isnt($rc, 0, "nginx -t refuses: $location$http");
    like($out, $want, "nginx -t says why, naming the directive and the line: $location$http");
}

{
    # the upstream{} may come after the hook that names it
    my ($rc, $out) = nginx_check_config(dir => '098-config',
        http => 'ws_backend_timeout 2s; ws_backend_connections 8; ws_backend_pipeline 1;',
        location => 'ws_listen; ws_backend_message http://later/m;',
        extra => '} upstream later { server 127.0.0.1:1; } server { listen 127.0.0.1:1;');
    is($rc, 0, 'nginx -t accepts an upstream defined after the hook') or diag($out);
}

done_testing();
