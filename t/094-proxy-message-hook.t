# The backend hooks in a ws_proxy_pass location (docs/proxy.md, "Backend
# hooks"): each client message is offered to ws_backend_message before it
# goes to the upstream, and the answer decides as in a terminated
# endpoint: 2xx with a body is relayed instead, 304 relays the message,
# 204 drops it, a 4xx is the sender's reply (or a 1008 close), a failure
# drops it (or closes 1011), WS-Close closes. Answers apply in the order
# of the messages, at most ws_backend_message_inflight calls at a time.
# Large messages are held whole for the hook, not streamed past it. The
# connect hook runs before the upstream is connected, the close hook
# after. Real upstream: Python websockets answering "up:<message>"
# (t/proxy/tag_upstream.py); real backend: Node's http
# (t/lib/message_backend.js, one order per message).
use Test::NgxWs;
use Test::More;
use IPC::Open2 qw(open2);
use JSON::PP qw(decode_json);
use Test::NgxWs::MessageBackend;
use Test::NgxWs::HookConfig;

my $port = test_port();
my $nport = $port + 1;     # the Node backend
my $up = $port + 2;        # the upstream WebSocket app
my $dead = $port + 4;      # nothing listens there
my $root = repo_root();

Test::NgxWs::MessageBackend->start(port => $nport);
my $uppid = open2(my $uout, my $uin, '/usr/bin/python3',
                  "$root/t/proxy/tag_upstream.py", $up);
like(<$uout> // '', qr/listening/, 'the upstream app listens');

my $http = hooks_http_config(zone => 'hooks', port => $nport);

my $hook = message_backend_location('/internal/node');

my $config = <<CONF;
    location /app/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$up;
        ws_max_message_size 1m;
        ws_backend_message /internal/node;
        ws_backend_message_inflight 2;
    }
    location /app-small/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$up;
        ws_max_message_size 20k;
        ws_backend_message /internal/node;
    }
    location /app-refuse/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$up;
        ws_backend_message /internal/node;
        ws_backend_message_refused close;
    }
    location /app-fail/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$up;
        ws_backend_message /internal/node;
        ws_backend_message_failed close;
    }
    location /app-down/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$up;
        ws_backend_message /internal/down;
    }
    location /app-connect/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$up;
        ws_backend_connect /internal/allow;
        ws_backend_message /internal/node;
        ws_backend_close /internal/node;
    }
    location /app-refused/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$up;
        ws_backend_connect /internal/deny;
        ws_backend_message /internal/node;
    }
    location /app-connect-dead/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$dead;
        ws_backend_connect /internal/allow;
    }
    location /plain/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$up;
    }
$hook
    location = /internal/down {
        internal;
        proxy_pass http://127.0.0.1:$dead;
    }
    location = /internal/allow { internal; return 204; }
    location = /internal/deny { internal; return 403; }
    location = /metrics { ws_status; }
CONF

my $ngx = start_nginx(name => 'proxy message hook', log_level => 'info',
                      http_config => $http, config => $config);

sub calls {
    my ($hook, $class) = @_;
    return metrics($port) =~ /^ngx_ws_backend_calls_total\{hook="$hook",status="$class"\} (\d+)$/m
        ? $1 : 0;
}

sub proxy_status {
    my ($loc) = @_;
    my $res = http_request(raw => "GET /metrics?format=json HTTP/1.1\r\n"
                                  . "Host: t\r\nConnection: close\r\n\r\n");
    my $json = eval { decode_json($res->{body} // '') } or return undef;
    my ($entry) = grep { $_->{location} eq $loc } @{ $json->{proxy} // [] };
    return $entry;
}

sub node_count {
    my $res = http_request(port => $nport, raw => "GET /count HTTP/1.1\r\n"
                           . "Host: t\r\nConnection: close\r\n\r\n");
    return decode_json($res->{body} // '{}');
}

{
    my $name = 'answers decide what is relayed';
    my $ws = ws_connect(uri => '/app/echo');
    $ws->send_text(order(status => 200, body => 'replaced'));
    $ws->expect('text up:replaced', "$name - 200: the body goes to the upstream instead");
    my $keep = order(status => 304);
    $ws->send_text($keep);
    $ws->expect("text up:$keep", "$name - 304: the message itself goes");
    $ws->send_text(order(status => 200, body => "\x01\x02",
                         headers => { 'WS-Opcode' => 'binary' }));
    $ws->expect('binary_hex 75703a0102', "$name - WS-Opcode: binary, relayed as binary");
    $ws->send_text(order(status => 204));
    $ws->send_text(order(status => 200, body => 'after a drop'));
    $ws->expect('text up:after a drop', "$name - 204: nothing relayed before the next");
    $ws->send_text(order(status => 403, body => 'not for the app'));
    $ws->expect('text not for the app', "$name - 403: the body to the sender, from NGINX");
    $ws->send_text(order(status => 200, body => 'goes on'));
    $ws->expect('text up:goes on', "$name - the connection goes on after a refusal");
    $ws->send_text(order(garbage => JSON::PP::true));
    $ws->send_text(order(status => 200, body => 'after garbage'));
    $ws->expect('text up:after garbage', "$name - garbage: failed, dropped (ignore)");
    $ws->send_close(1000);
    $ws->expect('close 1000', "$name - closed");
}

{
    my $name = 'order and the in-flight bound';
    my $ws = ws_connect(uri => '/app/echo');
    $ws->send_text(order(status => 200, body => 'a', delay_ms => 400));
    $ws->send_text(order(status => 200, body => 'b'));
    $ws->send_text(order(status => 200, body => 'c', delay_ms => 150));
    for my $m (qw(a b c)) {
        $ws->expect("text up:$m", "$name - $m in its turn");
    }
    $ws->send_text(order(status => 200, body => "m$_", delay_ms => 200))
        for 1 .. 6;
    $ws->expect("text up:m$_", "$name - m$_ in its turn", 1) or last
        for 1 .. 6;
    is(node_count()->{most}, 2, "$name - at most ws_backend_message_inflight calls ran at once");
    $ws->send_close(1000);
    $ws->expect('close 1000', "$name - closed");
}

{
    my $name = 'large messages are held whole for the hook';
    my $ws = ws_connect(uri => '/app/echo');
    my $before = calls('message', '2xx');
    # 100 kB, past the 16 KiB from which a proxy streams without a hook
    $ws->send_text(order(status => 204, pad => 'x' x 100_000));
    $ws->send_text(order(status => 200, body => 'after the big drop'));
    $ws->expect('text up:after the big drop', "$name - a dropped large message never reaches the upstream");
    my $big = order(status => 304, pad => 'y' x 100_000);
    $ws->send_dsl('frame op=1 fin=0 payload=' . substr($big, 0, 50_000));
    $ws->send_dsl('frame op=0 fin=1 payload=' . substr($big, 50_000));
    my $m = $ws->read_message;
    ok($m && $m->{op} eq 'text' && $m->{payload} eq "up:$big",
       "$name - a kept one in two fragments is relayed whole");
    ok(wait_for(sub { calls('message', '2xx') >= $before + 2 }, 5),
       "$name - the hook saw each large message as one call");
    $ws->send_close(1000);
    $ws->expect('close 1000', "$name - closed");
}

{
    my $name = 'a message over ws_max_message_size';
    my $ws = ws_connect(uri => '/app-small/echo');
    my $before = calls('message', '2xx') + calls('message', '3xx');
    # in two fragments: the first one alone is within the limit
    my $too_big = order(status => 304, pad => 'z' x 30_000);
    $ws->send_dsl('frame op=1 fin=0 payload=' . substr($too_big, 0, 18_000));
    $ws->send_dsl('frame op=0 fin=1 payload=' . substr($too_big, 18_000));
    $ws->expect('close 1009', "$name - closes with 1009");
    my $st;
    ok(wait_for(sub { $st = proxy_status('/app-small/');
                      $st && $st->{closes}{proxy} }, 5),
       "$name - the upstream link has ended");
    # without the hook the first 16 KiB would have gone on before the 1009
    cmp_ok($st->{bytes}{to_upstream}, '<', 64,
           "$name - nothing of it reached the upstream, only a close frame");
    is(calls('message', '2xx') + calls('message', '3xx'), $before,
       "$name - nor the backend");
}

{
    my $name = 'WS-Close';
    my $ws = ws_connect(uri => '/app/echo');
    $ws->send_text(order(status => 204, headers => { 'WS-Close' => '4003 banned' }));
    $ws->expect('close 4003', "$name - the client is closed with the backend's code");
}

{
    my $name = 'ws_backend_message_refused close';
    my $ws = ws_connect(uri => '/app-refuse/echo');
    $ws->send_text(order(status => 200, body => 'first'));
    $ws->expect('text up:first', "$name - a 200 goes through");
    $ws->send_text(order(status => 403, body => 'go away'));
    $ws->expect('close 1008', "$name - a 403 closes with 1008");
}

for my $case ([ 'a 500', order(status => 500) ],
              [ 'garbage', order(garbage => JSON::PP::true) ]) {
    my $name = "ws_backend_message_failed close, $case->[0]";
    my $ws = ws_connect(uri => '/app-fail/echo');
    $ws->send_text($case->[1]);
    $ws->expect('close 1011', "$name - closes with 1011");
}

{
    my $name = 'the backend down';
    my $ws = ws_connect(uri => '/app-down/echo');
    my $before = calls('message', '5xx');
    $ws->send_text('lost');
    ok(wait_for(sub { calls('message', '5xx') > $before }, 5),
       "$name - the call failed (502)");
    $ws->send_ping('after');
    $ws->expect('pong after', "$name - nothing was relayed (ignore)");
    my $st = proxy_status('/app-down/');
    is($st && $st->{messages}{to_upstream}, 0, "$name - the upstream got no message");
    $ws->send_close(1000);
    $ws->expect('close 1000', "$name - closed");
}

{
    my $name = 'the connect hook before the upstream';
    my $ws = ws_connect(uri => '/app-connect/echo');
    $ws->send_text(order(status => 200, body => 'through both'));
    $ws->expect('text up:through both', "$name - allowed: the upstream is connected, the message hook runs");
    my $closes = calls('close', '2xx');
    $ws->send_close(4000, 'bye');
    $ws->expect('close 4000', "$name - the upstream's answer to the client's close");
    ok(wait_for(sub { calls('close', '2xx') == $closes + 1 }, 5),
       "$name - the close hook was called once");

    my $res = ws_handshake_answer(uri => '/app-refused/echo');
    is($res->{status}, 403, "$name - a refusal is the client's answer");
    $res = ws_handshake_answer(uri => '/app-connect-dead/echo');
    is($res->{status}, 502, "$name - allowed, then no upstream peer: 502");
    my $dead_st = proxy_status('/app-connect-dead/');
    is($dead_st && $dead_st->{connects}{failed}, 1,
       "$name - the upstream was tried after the hook's 2xx");

    # the location beside it that did connect is listed, this one not
    ok(proxy_status('/app-connect/') && !proxy_status('/app-refused/'),
       "$name - and the upstream was never connected");
}

{
    # what the upstream saw: the plain location beside them, no hook
    my $ws = ws_connect(uri => '/plain/count');
    $ws->send_text('?');
    my $m = $ws->read_message;
    my ($n, $codes) = split ' ', ($m && $m->{payload}) // '';
    my %code = map { $_ => 1 } split /,/, $codes // '';
    ok($code{4000}, "the upstream got the client's 4000 ($codes)");
    ok($code{4003} && $code{1008} && $code{1011},
       "a close of the hook's (WS-Close, refused, failed) reaches the upstream as the client answered it");
    $ws->send_close(1000);
}

check_logs($ngx, undef, allow => qr/ws: message hook|connect\(\) failed|upstream prematurely closed|upstream sent no valid HTTP|ws proxy: upstream/);
kill 'TERM', $uppid;
done_testing();
