# The JSON protocol's requests that a backend answers: "rpc" and "send"
# go to the message hook (ws_backend_message), a "subscribe" that the
# static rules allowed to the subscribe hook (ws_backend_subscribe). Each
# gets one reply: an ack carrying the answer as "data" (JSON when the
# answer says it is and parses, else a string), or an error with the
# HTTP status ("rejected"/"forbidden" for a 4xx, "unavailable" when the
# backend failed). Calls keep the order and in-flight bound of messages.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::Backend;
use Test::NgxWs::HookConfig;
use JSON::PP qw(decode_json);
use Time::HiRes qw(time sleep);

my $port = test_port();
my $bport = $port + 1;
my $dead = $port + 2;     # nothing listens there

my $backend = Test::NgxWs::Backend->start(port => $bport);

sub backend_requests { $backend->requests }

my $http = hooks_http_config(zone => 'rpc', port => $bport);

my $config = json_location('/rpc', 'ws_backend_connect /internal/connect;',
                           'ws_backend_message /internal/echo-json;',
                           'ws_backend_message_inflight 4;')
    . internal_location('/internal/connect',
                        hook_proxy('http://hooks/connect'))
    . internal_location('/internal/echo-json', hook_proxy('http://hooks/rpc',
          'X-Answer-Echo' => '" "',     # nothing before the body
          'X-Answer-Header' => '"Content-Type: application/json"',
          'X-Answer-Delay-Max' => 0.01))
    . hooked_location('/text', message => q{return 200 'say "hi"';})
    . hooked_location('/notjson', message =>
          'default_type application/json; return 200 "{not json";')
    . hooked_location('/empty', message => 'return 204;')
    . hooked_location('/keep', message => 'return 304;')
    . hooked_location('/refuse', message => 'return 403 "no whoami for you";')
    . hooked_location('/down', message => "proxy_pass http://127.0.0.1:$dead;")
    . json_location('/nohook')
    . hooked_location('/sub', subscribe => hook_proxy('http://hooks/subscribe',
          'X-Answer-Body' => q{'{"topic":"lobby"}'},
          'X-Answer-Header' => '"Content-Type: application/json"'))
    . hooked_location('/sub-plain', subscribe => 'return 204;')
    . hooked_location('/sub-deny', subscribe => 'return 403 "members only";')
    . hooked_location('/sub-down', subscribe =>
          "proxy_pass http://127.0.0.1:$dead;")
    . "    location = /metrics { ws_status; }\n";

my $ngx = start_nginx(name => 'rpc', log_level => 'info',
                      http_config => $http, config => $config);

sub reply {
    my ($ws, $name) = @_;
    my $m = $ws->read_message(5);
    ok($m && $m->{op} eq 'text', "$name - a text reply") or return {};
    my $r = eval { decode_json($m->{payload}) };
    ok($r, "$name - of JSON: $m->{payload}") or return {};
    return $r;
}

sub closed {
    my ($ws, $name) = @_;
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
}

{
    my $name = 'rpc: the backend sees the call, the answer comes back as data';
    $backend->forget;
    my $ws = ws_connect(uri => '/rpc',
        headers => "X-Answer-Header: WS-User: carol\n");
    $ws->send_text('{"op":"rpc","method":"whoami","id":7,"data":{"a":[1,"x"]}}');
    my $r = reply($ws, $name);
    is($r->{op}, 'ack', "$name - an ack");
    is($r->{id}, 7, "$name - with the id");
    is_deeply($r->{data}, {a => [1, 'x']}, "$name - the answer as JSON");
    my ($connect, $call) = backend_requests();
    is($call->{method}, 'POST', "$name - a POST");
    is($call->{body}, '{"a":[1,"x"]}', "$name - of the data");
    is($call->{headers}{'content-type'}[0], 'application/json', "$name - JSON");
    is($call->{headers}{'ws-op'}[0], 'rpc', "$name - WS-Op");
    is($call->{headers}{'ws-method'}[0], 'whoami', "$name - WS-Method");
    is($call->{headers}{'ws-request-id'}[0], '7', "$name - WS-Request-Id");
    is($call->{headers}{'ws-user'}[0], 'carol', "$name - WS-User");
    is($call->{headers}{'ws-connection-id'}[0],
       $connect->{headers}{'ws-connection-id'}[0], "$name - WS-Connection-Id");

    $ws->send_text('{"op":"rpc","method":"a.b/c","id":"s-1"}');
    $r = reply($ws, "$name (no data, string id)");
    is($r->{id}, 's-1', "$name - a string id comes back");
    ok(!exists $r->{data}, "$name - an empty answer: no data");
    my $bare = (backend_requests())[-1];
    is($bare->{body}, '', "$name - no data: an empty body");
    is($bare->{headers}{'ws-request-id'}[0], '"s-1"',
       "$name - a string id as written, quotes included");

    $ws->send_text('{"op":"send","id":8,"data":"fire"}');
    $r = reply($ws, "$name (send)");
    is_deeply($r, {op => 'ack', id => 8, data => 'fire'},
              "$name - send is acknowledged with the answer");
    is((backend_requests())[-1]{headers}{'ws-op'}[0], 'send', "$name - WS-Op: send");
    closed($ws, $name);
}

{
    my $name = 'rpc: 200 calls, 4 in flight, replies in order';
    my $ws = ws_connect(uri => '/rpc');
    $ws->send_text(qq({"op":"rpc","method":"n","id":$_,"data":$_})) for 1 .. 200;
    my @ids;
    while (@ids < 200) {
        my $m = $ws->read_message(10) or last;
        my $r = decode_json($m->{payload});
        push @ids, $r->{id};
        last if $r->{data} != $r->{id};
    }
    is_deeply(\@ids, [1 .. 200], "$name - every reply, in the order sent");
    closed($ws, $name);
}

{
    my $name = 'answers that are not JSON';
    my $ws = ws_connect(uri => '/text');
    $ws->send_text('{"op":"rpc","method":"m","id":1}');
    is_deeply(reply($ws, $name), {op => 'ack', id => 1, data => 'say "hi"'},
              "$name - text/plain: a string");
    closed($ws, $name);
    $ws = ws_connect(uri => '/notjson');
    $ws->send_text('{"op":"rpc","method":"m","id":2}');
    is_deeply(reply($ws, $name), {op => 'ack', id => 2, data => '{not json'},
              "$name - said JSON but does not parse: a string");
    closed($ws, $name);
    $ws = ws_connect(uri => '/empty');
    $ws->send_text('{"op":"rpc","method":"m","id":3}');
    is_deeply(reply($ws, $name), {op => 'ack', id => 3}, "$name - 204: a bare ack");
    closed($ws, $name);
    $ws = ws_connect(uri => '/keep');
    $ws->send_text('{"op":"rpc","method":"m","id":4}');
    is_deeply(reply($ws, $name), {op => 'ack', id => 4}, "$name - 304: a bare ack");
    closed($ws, $name);
}

{
    my $name = 'a refusal and a failure are errors with the id';
    my $ws = ws_connect(uri => '/refuse');
    $ws->send_text('{"op":"rpc","method":"whoami","id":7}');
    is_deeply(reply($ws, $name), {op => 'error', id => 7, code => 'rejected',
                                  status => 403, message => 'no whoami for you'},
              "$name - 4xx: rejected, the body as message");
    $ws->send_text('{"op":"send","id":8,"data":1}');
    is(reply($ws, $name)->{code}, 'rejected', "$name - send too");
    closed($ws, $name);
    $ws = ws_connect(uri => '/down');
    $ws->send_text('{"op":"rpc","method":"whoami","id":9}');
    is_deeply(reply($ws, $name), {op => 'error', id => 9, code => 'unavailable',
                  status => 502,
                  message => 'the backend did not answer, try again later'},
              "$name - backend down: unavailable, 502");
    $ws->send_text('{"op":"rpc","method":"whoami","id":10}');
    is(reply($ws, $name)->{status}, 502, "$name - the connection goes on");
    closed($ws, $name);
    like($ngx->error_log, qr/ws: rpc hook "\/internal\/down" failed with 502; further failures are counted/,
         "$name - logged once");
    my @lines = $ngx->error_log =~ /(rpc hook "\/internal\/down" failed)/g;
    is(scalar @lines, 1, "$name - not once per call");
}

{
    my $name = 'requests the protocol refuses before any backend';
    my $ws = ws_connect(uri => '/nohook');
    $ws->send_text('{"op":"rpc","method":"whoami","id":1}');
    is_deeply(reply($ws, $name), {op => 'error', id => 1, code => 'unsupported',
                  message => 'no backend takes this request here'},
              "$name - no message hook: unsupported");
    closed($ws, $name);
    $ws = ws_connect(uri => '/rpc');
    $ws->send_text('{"op":"rpc","method":"who ami","id":2}');
    is_deeply(reply($ws, $name), {op => 'error', id => 2, code => 'bad_request',
                                  message => 'bad method'}, "$name - bad method");
    $ws->send_text('{"op":"rpc","id":3}');
    is(reply($ws, $name)->{message}, 'missing method', "$name - missing method");
    $ws->send_text('{"op":"send","id":4}');
    is(reply($ws, $name)->{message}, 'missing data', "$name - send without data");
    closed($ws, $name);
}

{
    my $name = 'subscribe hook allows, with data';
    $backend->forget;
    my $ws = ws_connect(uri => '/sub');
    $ws->send_text('{"op":"subscribe","channel":"room:lobby","id":1}');
    my $r = reply($ws, $name);
    is($r->{op}, 'ack', "$name - an ack");
    is($r->{id}, 1, "$name - with the id");
    is_deeply($r->{data}, {topic => 'lobby'}, "$name - carrying the backend's data");
    my ($call) = backend_requests();
    is($call->{path}, '/subscribe', "$name - the hook was called");
    is($call->{headers}{'ws-op'}[0], 'subscribe', "$name - WS-Op");
    is($call->{headers}{'ws-channel'}[0], 'room:lobby', "$name - WS-Channel");
    is($call->{headers}{'ws-request-id'}[0], '1', "$name - WS-Request-Id");
    ok($call->{headers}{'ws-connection-id'}[0], "$name - WS-Connection-Id");
    $ws->send_text('{"op":"publish","channel":"room:lobby","data":"hello","id":2}');
    my %got;
    for (1 .. 2) {
        my $m = reply($ws, $name);
        $got{$m->{op}} = $m;
    }
    is($got{message}{data}, 'hello', "$name - joined: the channel's messages come");

    $ws->send_text('{"op":"subscribe","channel":"other","id":3}');
    is_deeply(reply($ws, $name), {op => 'error', id => 3, code => 'forbidden',
                                  message => 'channel not allowed'},
              "$name - the static rules first");
    is(scalar(grep { $_->{path} eq '/subscribe' } backend_requests()), 1,
       "$name - without a call");

    $ws->send_text(qq({"op":"publish","channel":"room:resume","data":$_,"id":"p$_"})) for 1 .. 2;
    reply($ws, "$name (publish $_)") for 1 .. 2;
    my $late = ws_connect(uri => '/sub');
    $late->send_text('{"op":"subscribe","channel":"room:resume","last_seq":0,"id":9}');
    is_deeply(reply($late, "$name (resume)"),
              {op => 'ack', id => 9, seq => 2, data => {topic => 'lobby'}},
              "$name - a resume is acknowledged by its replay, after the hook, "
              . "with the hook's data");
    is_deeply(reply($late, "$name (resume)"),
              {op => 'gap', channel => 'room:resume', from => 1, to => 2},
              "$name - which follows (no history kept here)");
    is((backend_requests())[-1]{headers}{'ws-channel'}[0], 'room:resume',
       "$name - the hook was asked");
    closed($late, $name);
    closed($ws, $name);

    $ws = ws_connect(uri => '/sub-plain');
    $ws->send_text('{"op":"subscribe","channel":"room:plain","id":4}');
    $r = reply($ws, "$name (204)");
    is($r->{op}, 'ack', "$name - 204 allows");
    ok(!exists $r->{data}, "$name - without data");
    closed($ws, $name);
}

{
    my $name = 'subscribe hook denies';
    my $ws = ws_connect(uri => '/sub-deny');
    $ws->send_text('{"op":"subscribe","channel":"room:vip","id":5}');
    is_deeply(reply($ws, $name), {op => 'error', id => 5, code => 'forbidden',
                                  status => 403, message => 'members only'},
              "$name - forbidden, with the status and the backend's body");
    $ws->send_text('{"op":"publish","channel":"room:vip","data":"secret","id":6}');
    my $r = reply($ws, $name);
    is($r->{op}, 'ack', "$name - a publish there is acknowledged");
    $ws->send_text('{"op":"unsubscribe","channel":"room:vip","id":7}');
    is(reply($ws, $name)->{code}, 'not_subscribed',
       "$name - and the message did not come: never joined");
    closed($ws, $name);
}

{
    my $name = 'subscribe hook fails';
    my $ws = ws_connect(uri => '/sub-down');
    $ws->send_text('{"op":"subscribe","channel":"room:x","id":8}');
    is_deeply(reply($ws, $name), {op => 'error', id => 8, code => 'unavailable',
                  status => 502,
                  message => 'the backend did not answer, try again later'},
              "$name - unavailable, 502: denied");
    $ws->send_text('{"op":"unsubscribe","channel":"room:x","id":9}');
    is(reply($ws, $name)->{code}, 'not_subscribed', "$name - not joined");
    closed($ws, $name);
    my $m = http_request(port => $port, raw =>
        "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")->{body};
    like($m, qr/^ngx_ws_backend_calls_total\{hook="subscribe",status="2xx"\} 3$/m,
         "$name - counted: 2xx");
    like($m, qr/^ngx_ws_backend_calls_total\{hook="subscribe",status="4xx"\} 1$/m,
         "$name - counted: 4xx");
    like($m, qr/^ngx_ws_backend_calls_total\{hook="subscribe",status="5xx"\} 1$/m,
         "$name - counted: 5xx");
}

check_logs($ngx);

for my $case (
    ['ws_backend_subscribe x;', qr/"ws_backend_subscribe" needs the URI of a location.* in \S+:\d+/],
    ['ws_backend_subscribe /a; ws_backend_subscribe /b;', qr/"ws_backend_subscribe" directive is duplicate/],
) {
    my ($directives, $want) = @$case;
    my ($rc, $out) = nginx_check_config(dir => '057-config',
                                        location => "ws_listen; $directives");
    isnt($rc, 0, "nginx -t refuses: $directives");
    like($out, $want, "nginx -t names the directive: $directives");
}

done_testing();
