# Reload and quit with backend calls in flight: a connection's 1001 waits
# until its queued calls (messages, rpc) are answered, the answers reach
# the client first, and the old worker exits once that is done. A call
# that times out ends the wait too.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::Backend;
use Test::NgxWs::HookConfig;
use JSON::PP qw(decode_json);
use Time::HiRes qw(time sleep);

my $port = test_port();
my $bport = $port + 1;

my $backend = Test::NgxWs::Backend->start(port => $bport);

sub calls { grep { $_->{path} eq '/message' } $backend->requests }

my $http = hooks_http_config(zone => 'reload', port => $bport,
                             keepalive => 8);

my $proxy = <<'CONF';
        proxy_http_version 1.1;
        proxy_set_header Connection "";
CONF

my $config = <<CONF;
    location /raw {
        ws_listen;
        ws_backend_message /internal/slow;
        ws_backend_message_inflight 2;
    }
    location /json {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
        ws_backend_message /internal/slow-json;
    }
    location /stuck {
        ws_listen;
        ws_backend_message /internal/stuck;
    }
    location = /internal/slow {
        internal;
        proxy_pass http://hooks/message;
$proxy
        proxy_set_header X-Answer-Echo "re:";
        proxy_set_header X-Answer-Delay 1;
    }
    location = /internal/slow-json {
        internal;
        proxy_pass http://hooks/message;
$proxy
        proxy_set_header X-Answer-Body '{"late":true}';
        proxy_set_header X-Answer-Header "Content-Type: application/json";
        proxy_set_header X-Answer-Delay 1;
    }
    location = /internal/stuck {
        internal;
        proxy_pass http://hooks/message;
$proxy
        proxy_read_timeout 1s;
        proxy_set_header X-Answer-Delay 30;
    }
CONF

sub reload_case {
    my ($signal) = @_;
    my $name = "nginx -s " . ($signal eq 'HUP' ? 'reload' : 'quit')
               . ' with calls in flight';
    $backend->forget;
    my $ngx = start_nginx(name => "calls on $signal", log_level => 'info',
                          http_config => $http, config => $config);
    my ($old) = $ngx->workers;
    my $raw = ws_connect(uri => '/raw');
    my $json = ws_connect(uri => '/json');
    my $idle = ws_connect(uri => '/raw');
    $raw->send_text("m$_") for 1 .. 3;
    $json->send_text('{"op":"rpc","method":"slow","id":7}');
    ok(wait_for(sub { calls() >= 3 }, 3), "$name - the calls are in flight");
    my $t0 = time;
    $ngx->signal($signal);
    $idle->expect('close 1001', "$name - a connection without calls closes at once", 1);
    ok(time - $t0 < 0.8, "$name - at once (" . sprintf('%.2f', time - $t0) . ' s)');
    $raw->expect("text re:m$_", "$name - answer $_ reaches the client") for 1 .. 3;
    my $took = time - $t0;
    ok($took >= 1, "$name - the third message waited for its turn (${took}s)");
    $raw->expect('close 1001', "$name - then the 1001");
    my $m = $json->read_message(5);
    is_deeply($m && decode_json($m->{payload}),
              {op => 'ack', id => 7, data => {late => JSON::PP::true}},
              "$name - the rpc's answer reaches its client");
    $json->expect('close 1001', "$name - then the 1001");
    is(scalar(calls()), 4, "$name - no call started after the signal");
    if ($signal eq 'HUP') {
        ok(wait_for(sub { !kill(0, $old) || `ps -o stat= -p $old` =~ /Z/ }, 10),
           "$name - the old worker exits");
        my $ws = ws_connect(uri => '/raw');
        $ws->send_text('new');
        $ws->expect('text re:new', "$name - the new worker serves");
        $ws->send_close(1000);
        $ws->expect('close 1000', $name, 1);
    } else {
        ok(wait_for(sub { !$ngx->is_running }, 10), "$name - NGINX exits");
        $ngx->{stopped} = 1;
    }
    like($ngx->error_log, qr/closing with 1001 once the calls in flight are answered/,
         "$name - said in the log");
    check_logs($ngx);
}

reload_case('HUP');
reload_case('QUIT');

{
    my $name = 'a call that times out ends the wait';
    $backend->forget;
    my $ngx = start_nginx(name => 'stuck call', log_level => 'info',
                          http_config => $http, config => $config);
    my ($old) = $ngx->workers;
    my $ws = ws_connect(uri => '/stuck');
    $ws->send_text('never answered');
    ok(wait_for(sub { calls() >= 1 }, 3), "$name - in flight");
    my $t0 = time;
    $ngx->signal('HUP');
    $ws->expect('close 1001', $name);
    my $took = time - $t0;
    ok($took >= 0.5 && $took < 5, "$name - after proxy_read_timeout (${took}s)");
    ok(wait_for(sub { !kill(0, $old) || `ps -o stat= -p $old` =~ /Z/ }, 10),
       "$name - the old worker exits");
    check_logs($ngx);
}

done_testing();
