# The direct client (hooks named "http://NAME/path") over a WebSocket's
# life: the subscribe hook's allow and deny and the close hook through it,
# and reload and quit with calls in flight on pipelined upstream
# connections: the answers reach the client before its 1001 and the old
# worker exits once they are in; a call that never gets an answer ends the
# wait after ws_backend_timeout.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::MessageBackend;
use JSON::PP qw(decode_json);
use Time::HiRes qw(time sleep);

my $port = test_port();
my ($nport, $allow, $deny) = map { $port + $_ } 1 .. 3;

Test::NgxWs::MessageBackend->start(port => $nport);

my $http = <<CONF;
    ws_zone life 1m;
    ws_backend_connections 2;
    ws_backend_timeout 2s;
    upstream node { server 127.0.0.1:$nport; }
    upstream allow { server 127.0.0.1:$allow; }
    upstream deny { server 127.0.0.1:$deny; }
    server {
        listen 127.0.0.1:$allow;
        location / { return 204; }
    }
    server {
        listen 127.0.0.1:$deny;
        location / { return 403 "members only"; }
    }
CONF

my $config = <<CONF;
    location /slow {
        ws_listen;
        ws_backend_message http://node/message;
        ws_backend_message_inflight 4;
    }
    location /sub {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
        ws_backend_subscribe http://allow/subscribe;
        ws_backend_close http://node/close;
    }
    location /sub-deny {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
        ws_backend_subscribe http://deny/subscribe;
    }
    location = /metrics { ws_status; }
CONF

# calls the Node backend has seen
sub calls {
    my $body = http_request(port => $nport, raw =>
        "GET /count HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")->{body};
    return decode_json($body)->{calls};
}

sub reply {
    my ($ws) = @_;
    my $m = eval { $ws->read_message(5) };
    return ($m && eval { decode_json($m->{payload}) }) || {};
}

{
    my $ngx = start_nginx(name => 'direct subscribe and close', log_level => 'info',
                          http_config => $http, config => $config);
    my $name = 'the subscribe hook through the direct client';
    my $ws = ws_connect(uri => '/sub');
    $ws->send_text('{"op":"subscribe","channel":"room:a","id":1}');
    my $r = reply($ws);
    is_deeply([$r->{op}, $r->{id}], ['ack', 1], "$name - a 204 allows");
    my $deny = ws_connect(uri => '/sub-deny');
    $deny->send_text('{"op":"subscribe","channel":"room:a","id":2}');
    $r = reply($deny);
    is_deeply([@$r{qw(op id code status message)}], ['error', 2, 'forbidden', 403, 'members only'],
              "$name - a 403 denies, with its body");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
    ok(wait_for(sub { metrics($port) =~ /^ngx_ws_backend_calls_total\{hook="close",status="2xx"\} 1$/m }, 5),
       'the close hook through the direct client: answered');
    $deny->disconnect;
    check_logs($ngx);
}

sub reload_case {
    my ($signal) = @_;
    my $name = 'nginx -s ' . ($signal eq 'HUP' ? 'reload' : 'quit')
               . ' with direct calls in flight';
    my $ngx = start_nginx(name => "direct calls on $signal", log_level => 'info',
                          http_config => $http, config => $config);
    my ($old) = $ngx->workers;
    my $ws = ws_connect(uri => '/slow');
    my $idle = ws_connect(uri => '/slow');
    my $before = calls();
    $ws->send_text(order(delay_ms => 1000, status => 200, body => "late$_")) for 1 .. 3;
    ok(wait_for(sub { calls() >= $before + 3 }, 3), "$name - the calls are in flight");
    my $t0 = time;
    $ngx->signal($signal);
    $idle->expect('close 1001', "$name - a connection without calls closes at once", 1);
    $ws->expect("text late$_", "$name - answer $_ reaches the client") for 1 .. 3;
    ok(time - $t0 >= 0.5, "$name - after the backend's delay");
    $ws->expect('close 1001', "$name - then the 1001");
    if ($signal eq 'HUP') {
        ok(wait_for(sub { !kill(0, $old) || `ps -o stat= -p $old` =~ /Z/ }, 10),
           "$name - the old worker exits");
        my $new = ws_connect(uri => '/slow');
        $new->send_text('new');
        $new->expect('text re:new', "$name - the new worker serves");
        $new->disconnect;
    } else {
        ok(wait_for(sub { !$ngx->is_running }, 10), "$name - NGINX exits");
        $ngx->{stopped} = 1;
    }
    check_logs($ngx);
}

reload_case('HUP');
reload_case('QUIT');

{
    my $name = 'a direct call that never gets an answer ends the wait';
    my $ngx = start_nginx(name => 'direct stuck call', log_level => 'info',
                          http_config => $http, config => $config);
    my ($old) = $ngx->workers;
    my $ws = ws_connect(uri => '/slow');
    my $before = calls();
    $ws->send_text(order(hang => 1));
    ok(wait_for(sub { calls() >= $before + 1 }, 3), "$name - in flight");
    my $t0 = time;
    $ngx->signal('HUP');
    $ws->expect('close 1001', $name);
    my $took = time - $t0;
    ok($took >= 1 && $took < 6, "$name - after ws_backend_timeout (${took}s)");
    ok(wait_for(sub { !kill(0, $old) || `ps -o stat= -p $old` =~ /Z/ }, 10),
       "$name - the old worker exits");
    check_logs($ngx);
}

done_testing();
