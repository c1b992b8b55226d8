# The close hook (ws_backend_close): after a WebSocket ended, whatever
# ended it, one POST of a JSON event to an ordinary NGINX location, made
# on a request of its own (the connection's request was freed after the
# 101), with the identity the connect hook set. Fire and forget; the
# call's pool and connection slot are freed after it.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::Backend;
use Test::NgxWs::HookConfig;
use JSON::PP qw(decode_json);
use Time::HiRes qw(time sleep);

my $port = test_port();
my $bport = $port + 1;     # the Python backend
my $dead = $port + 2;      # nothing listens there

my $backend = Test::NgxWs::Backend->start(port => $bport);

sub backend_requests { $backend->requests }

# The close events the backend got, decoded, with their request headers.
sub close_events {
    return map { { %{ decode_json($_->{body}) }, headers => $_->{headers} } }
           grep { $_->{path} eq '/close' } backend_requests();
}

my $http = hooks_http_config(zone => 'backend', port => $bport,
                             keepalive => 4) . <<CONF;
    log_format hook '\$request_method \$uri \$status len=\$content_length '
                    'type=\$content_type addr=\$remote_addr';
CONF

my $hook_locations = <<CONF;
    location = /internal/connect {
        internal;
        proxy_pass http://hooks/connect;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location = /internal/close {
        internal;
        proxy_pass http://hooks/close;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Answer-Delay \$arg_delay;
    }
    location = /internal/slow-close {
        internal;
        proxy_pass http://hooks/close;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Answer-Delay 1;
    }
    location = /internal/close-big {
        internal;
        proxy_pass http://hooks/close;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Answer-Body-Size 9000;
    }
    location = /internal/close-return {
        internal;
        log_subrequest on;
        access_log logs/hook.log hook;
        return 204;
    }
    location = /internal/close-down {
        internal;
        proxy_pass http://127.0.0.1:$dead;
    }
CONF

my $config = <<CONF;
    location /ws {
        ws_listen;
        ws_echo on;
        ws_max_message_size 100;
        ws_backend_connect /internal/connect;
        ws_backend_close /internal/close;
    }
    location /ping {
        ws_listen;
        ws_ping_interval 200ms;
        ws_ping_max_missed 1;
        ws_close_timeout 300ms;
        ws_backend_close /internal/close;
    }
    location /ret {
        ws_listen;
        ws_backend_close /internal/close-return;
    }
    location /down {
        ws_listen;
        ws_backend_close /internal/close-down;
    }
    location /slow {
        ws_listen;
        ws_backend_close /internal/slow-close;
    }
    location /big {
        ws_listen;
        ws_backend_close /internal/close-big;
    }
    location = /metrics { ws_status; }
$hook_locations
CONF

my $ngx = start_nginx(name => 'close hook', log_level => 'debug',
                      main_config => "events { worker_connections 64; }",
                      http_config => $http, config => $config);

{
    my $name = 'the client closes';
    my $ws = ws_connect(uri => '/ws',
        headers => "X-Answer-Header: WS-User: alice\n"
                   . "X-Answer-Header: WS-Meta-Plan: gold \"vip\"\n"
                   . "X-Answer-Header: WS-Meta-Room: lobby\n");
    my ($connect) = backend_requests();
    my $id = $connect->{headers}{'ws-connection-id'}[0];
    $ws->send_text('one');
    $ws->expect('text one', $name);
    $ws->send_text('two');
    $ws->expect('text two', $name);
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    $ws->expect_eof($name);
    ok(wait_for(sub { close_events() == 1 }, 3), "$name - one close call");
    my ($ev) = close_events();
    my ($req) = grep { $_->{path} eq '/close' } backend_requests();
    is($req->{method}, 'POST', "$name - a POST");
    is($req->{headers}{'content-type'}[0], 'application/json', "$name - of JSON");
    is($ev->{event}, 'close', "$name - event");
    is($ev->{connection_id}, $id, "$name - the connection the connect hook saw");
    is($ev->{code}, 1000, "$name - code");
    is($ev->{closed_by}, 'client', "$name - closed by the client");
    is($ev->{messages_in}, 2, "$name - messages in");
    is($ev->{messages_out}, 2, "$name - messages out");
    ok($ev->{bytes_in} > 6 && $ev->{bytes_out} > 6, "$name - byte counters");
    ok(defined $ev->{duration_ms}, "$name - duration");
    is($ev->{user}, 'alice', "$name - the user the connect answer set");
    is_deeply($ev->{meta}, { plan => 'gold "vip"', room => 'lobby' },
              "$name - the meta it set, names lowercase");
    my $h = $ev->{headers};
    is($h->{'ws-connection-id'}[0], $id, "$name - WS-Connection-Id header");
    is($h->{'ws-user'}[0], 'alice', "$name - WS-User header");
    is($h->{'ws-meta-plan'}[0], 'gold "vip"', "$name - WS-Meta-Plan header");
    is($h->{'ws-meta-room'}[0], 'lobby', "$name - WS-Meta-Room header");
}

{
    my $name = 'a message over the limit';
    $backend->forget;
    my $ws = ws_connect(uri => '/ws');
    $ws->send_text('x' x 200);
    $ws->expect('close 1009', $name);
    ok(wait_for(sub { close_events() == 1 }, 3), "$name - one close call");
    my ($ev) = close_events();
    is($ev->{code}, 1009, "$name - code 1009");
    is($ev->{closed_by}, 'server', "$name - closed by the server");
    is($ev->{user}, undef, "$name - no user: null");
    is_deeply($ev->{meta}, {}, "$name - no meta: {}");
}

{
    my $name = 'a ping timeout';
    $backend->forget;
    my $ws = ws_connect(uri => '/ping', no_close_reply => 1);
    ok(wait_for(sub { close_events() == 1 }, 5), "$name - one close call");
    my ($ev) = close_events();
    is($ev->{code}, 1001, "$name - code 1001");
    is($ev->{closed_by}, 'server', "$name - closed by the server");
    ok(!exists $ev->{headers}{'ws-user'}, "$name - no WS-User header without a user");
}

{
    my $name = 'a peer that vanishes';
    $backend->forget;
    my $ws = ws_connect(uri => '/ws');
    $ws->send_text('one');
    $ws->expect('text one', $name);
    $ws->disconnect;
    ok(wait_for(sub { close_events() == 1 }, 5), "$name - one close call");
    my ($ev) = close_events();
    is($ev->{code}, 1006, "$name - code 1006: no close frame");
    is($ev->{closed_by}, 'none', "$name - no close frame from either side");
    is($ev->{messages_in}, 1, "$name - messages in");
}

{
    my $name = 'a return location';
    my $ws = ws_connect(uri => '/ret');
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    ok(wait_for(sub { (Test::NgxWs::slurp("$ngx->{prefix}/logs/hook.log") // '') =~ /./ }, 3),
       "$name - called");
    like(Test::NgxWs::slurp("$ngx->{prefix}/logs/hook.log"),
         qr{^POST /internal/close-return 204 len=\d+ type=application/json addr=127\.0\.0\.1$}m,
         "$name - a POST with a length and a type, from the client's address");
}

{
    my $name = 'a backend down is logged once, the calls freed';
    # more connections than worker_connections: a call that kept its
    # connection slot would leave none after a few dozen
    for (1 .. 80) {
        my $ws = ws_connect(uri => '/down');
        $ws->send_close(1000);
        $ws->expect('close 1000', $name, 1);
        $ws->expect_eof($name, 1);
    }
    my $log = $ngx->error_log;
    my $n = () = $log =~ /close hook "\/internal\/close-down" failed with 502/g;
    is($n, 1, "$name - one line for 80 failures");
    unlike($log, qr/worker_connections are not enough/, "$name - no slot left behind");
    my $metrics = http_request(port => $port, raw =>
        "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")->{body};
    like($metrics, qr/^ngx_ws_backend_calls_total\{hook="close",status="5xx"\} 80$/m,
         "$name - the 80 failures counted in /metrics");
    like($metrics, qr/^ngx_ws_backend_calls_total\{hook="close",status="2xx"\} 5$/m,
         "$name - and the calls answered 2xx (204 counts)");
    like($metrics, qr/^ngx_ws_backend_calls_total\{hook="connect",status="2xx"\} 3$/m,
         "$name - and the connect calls");
    $backend->forget;
    my $ws = ws_connect(uri => '/ws');
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
    ok(wait_for(sub { close_events() == 1 }, 3), "$name - calls still made after");
}

{
    my $name = 'NGINX terminates the call (an answer too big)';
    # the error path of a subrequest: NGINX terminates the fake request
    # itself; it must end as a finished call does, slot and pool freed
    # one at a time: more in flight than worker_connections would be
    # refused for want of a slot, leak or not
    $backend->forget;
    my $made = 0;
    for my $i (1 .. 80) {
        my $ws = ws_connect(uri => '/big');
        $ws->send_close(1000);
        $ws->expect('close 1000', $name, 1);
        $ws->expect_eof($name, 1);
        $made++ if wait_for(sub { close_events() == $i }, 5);
    }
    is($made, 80, "$name - 80 calls made, one after the other");
    ok(wait_for(sub { $ngx->error_log =~ /close hook "\/internal\/close-big" failed with 502/ }, 3),
       "$name - counted as a failure")
        or diag(join "\n", grep { /big|close-big|alert|crit/ } split /\n/, $ngx->error_log);
    unlike($ngx->error_log, qr/worker_connections are not enough/,
           "$name - no slot left behind");
    my $ws = ws_connect(uri => '/ws');
    $ws->send_text('still');
    $ws->expect('text still', "$name - the worker goes on");
    $ws->send_close(1000);
}

{
    my $name = 'calls outlive their clients';
    # the clients' connections and pools are gone while the calls wait
    # for a slow backend: nothing of theirs may be used any more
    $backend->forget;
    my @ws = map { ws_connect(uri => '/slow') } 1 .. 15;
    $_->disconnect for @ws;
    # (the slow hook's calls: another block's last close may land here)
    my $slow = sub {
        scalar grep { ($_->{headers}{'x-answer-delay'}[0] // '') eq '1' }
               close_events();
    };
    ok(wait_for(sub { $slow->() == 15 }, 5), "$name - 15 calls made")
        or diag('calls seen: ' . $slow->());
    sleep 1.5;
    my $ok = ws_connect(uri => '/ws');
    $ok->send_text('alive');
    $ok->expect('text alive', "$name - the worker answers after them");
    $ok->send_close(1000);
    $ok->expect('close 1000', $name, 1);
}

check_logs($ngx);

{
    my $name = 'nginx -s quit';
    $backend->forget;
    my $ngx = start_nginx(name => 'close hook on quit', log_level => 'info',
                          http_config => $http, config => $config);
    my @ws = map { ws_connect(uri => '/slow') } 1 .. 3;
    my $t0 = time;
    $ngx->signal('QUIT');
    $_->expect('close 1001', $name, 1) for @ws;
    ok(wait_for(sub { !$ngx->is_running }, 10), "$name - NGINX exits");
    my @ev = close_events();
    is(scalar @ev, 3, "$name - every connection's close call was made");
    is(scalar(grep { $_->{code} == 1001 && $_->{closed_by} eq 'server' } @ev), 3,
       "$name - with 1001 from the server");
    ok(time - $t0 >= 1, "$name - the worker waited for the answers (1 s)");
    $ngx->{stopped} = 1;
    check_logs($ngx);
}

{
    my $name = 'nginx -s reload';
    $backend->forget;
    my $ngx = start_nginx(name => 'close hook on reload', log_level => 'info',
                          http_config => $http, config => $config);
    my ($old) = $ngx->workers;
    my @ws = map { ws_connect(uri => '/slow') } 1 .. 3;
    $ngx->signal('HUP');
    $_->expect('close 1001', $name, 1) for @ws;
    ok(wait_for(sub { close_events() == 3 }, 5), "$name - the close calls are made");
    ok(kill(0, $old), "$name - the old worker waits for their answers");
    ok(wait_for(sub { !kill(0, $old) || `ps -o stat= -p $old` =~ /Z/ }, 10),
       "$name - and then exits");
    my $ws = ws_connect(uri => '/ws');
    $ws->send_text('new');
    $ws->expect('text new', "$name - the new worker serves");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
    check_logs($ngx);
}

done_testing();
