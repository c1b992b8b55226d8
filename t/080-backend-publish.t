# The message hook filters the JSON protocol's "publish" as it filters a
# raw client's message: the static rules first (a channel they forbid
# never reaches the backend), then a POST with WS-Op: publish and
# WS-Channel, whose answer decides what is published to the channel:
# 2xx with a body instead (JSON when it says so and parses, a string
# otherwise, binary with WS-Opcode), 304 the data as sent, 204 nothing.
# The publisher gets its one reply: an ack with the message's seq (none
# when dropped), or the error of a refusal (rejected, the backend's body)
# or of a failure (unavailable). Publishes keep their order with several
# calls in flight.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::Backend;
use Test::NgxWs::HookConfig;
use JSON::PP qw(decode_json);
use Time::HiRes qw(sleep);

my $port = test_port();
my $bport = $port + 1;
my $dead = $port + 2;     # nothing listens there

my $backend = Test::NgxWs::Backend->start(port => $bport);

sub backend_requests { $backend->requests }

my $http = hooks_http_config(zone => 'pub', port => $bport);

my $config = json_location('/watch')
    . hooked_location('/replace', message => hook_proxy('http://hooks/publish',
          'X-Answer-Body' => q{'{"moderated":true}'},
          'X-Answer-Header' => '"Content-Type: application/json"'),
          'ws_backend_connect /internal/connect;')
    . internal_location('/internal/connect',
                        hook_proxy('http://hooks/connect'))
    . hooked_location('/text', message => q{return 200 'say "hi"';})
    . hooked_location('/notjson', message =>
          'default_type application/json; return 200 "{not json";')
    . hooked_location('/binary', message => hook_proxy('http://hooks/publish',
          'X-Answer-Body' => '"bytes"',
          'X-Answer-Header' => '"WS-Opcode: binary"'))
    . hooked_location('/keep', message => hook_proxy('http://hooks/publish',
          'X-Answer-Status' => 304,
          'X-Answer-Header' => '"WS-Publish: room:copy"'))
    . hooked_location('/drop', message => 'return 204;')
    . hooked_location('/refuse', message =>
          'return 403 "this room does not take spam";')
    . hooked_location('/fail', message => 'return 503;')
    . hooked_location('/down', message =>
          hook_proxy("http://127.0.0.1:$dead"))
    . hooked_location('/order', message => hook_proxy('http://hooks/publish',
          'X-Answer-Echo' => '"got "', 'X-Answer-Delay-Max' => 0.02),
          'ws_backend_message_inflight 4;')
    . hooked_location('/slow', message => hook_proxy('http://hooks/slow',
          'X-Answer-Status' => 304, 'X-Answer-Delay' => 0.4),
          'ws_backend_message_inflight 2;')
    . hooked_location('/join', message => hook_proxy('http://hooks/publish',
          'X-Answer-Status' => 304,
          'X-Answer-Header' => '"WS-Subscribe: room:joined"'))
    . hooked_location('/bye', message => hook_proxy('http://hooks/publish',
          'X-Answer-Status' => 304,
          'X-Answer-Header' => '"WS-Close: 4001 moderated"'))
    . "    location = /metrics { ws_status; }\n";

my $ngx = start_nginx(name => 'publish hook', log_level => 'info',
                      http_config => $http, config => $config);

# The next message, or undef: the harness dies when nothing comes, and a
# message that does not come is a failed check, not the end of the file.
sub next_message {
    my ($ws, $timeout) = @_;
    return eval { $ws->read_message($timeout) };
}

sub reply {
    my ($ws, $name) = @_;
    my $m = next_message($ws, 5);
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

# A client of a location without hooks, in the channel.
sub watcher {
    my ($channel, $name) = @_;
    my $ws = ws_connect(uri => '/watch');
    $ws->send_text(qq({"op":"subscribe","channel":"$channel","id":"w"}));
    is(reply($ws, "$name (watcher)")->{op}, 'ack', "$name - a watcher in $channel");
    return $ws;
}

# What the watcher gets next: nothing of what the hook stopped came
# before this marker, published where no hook is.
sub marker {
    my ($watch, $channel, $name) = @_;
    $watch->send_text(qq({"op":"publish","channel":"$channel","data":"marker","id":"m"}));
    my @got;
    while (my $m = next_message($watch, 5)) {
        my $r = decode_json($m->{payload});
        next if $r->{op} eq 'ack';
        push @got, $r->{data};
        last if defined $r->{data} && $r->{data} eq 'marker';
    }
    return @got;
}

{
    my $name = '2xx with a JSON body: published instead';
    $backend->forget;
    my $watch = watcher('room:a', $name);
    my $ws = ws_connect(uri => '/replace',
        headers => "X-Answer-Header: WS-User: carol\n");
    $ws->send_text('{"op":"publish","channel":"room:a","data":{"text":"buy spam"},"id":7}');
    my $ack = reply($ws, $name);
    is($ack->{op}, 'ack', "$name - the publisher gets an ack");
    is($ack->{id}, 7, "$name - with its id");
    ok($ack->{seq} && $ack->{seq} >= 1, "$name - and the message's seq");
    my $m = reply($watch, $name);
    is_deeply($m, {op => 'message', channel => 'room:a', seq => $ack->{seq},
                   data => {moderated => JSON::PP::true}},
              "$name - the channel gets the answer, as JSON");
    my ($connect, $call) = backend_requests();
    is($call->{method}, 'POST', "$name - a POST");
    is($call->{path}, '/publish', "$name - to the hook");
    is($call->{body}, '{"text":"buy spam"}', "$name - of the data as sent");
    is($call->{headers}{'content-type'}[0], 'application/json', "$name - JSON");
    is($call->{headers}{'ws-op'}[0], 'publish', "$name - WS-Op: publish");
    is($call->{headers}{'ws-channel'}[0], 'room:a', "$name - WS-Channel");
    is($call->{headers}{'ws-request-id'}[0], '7', "$name - WS-Request-Id");
    is($call->{headers}{'ws-user'}[0], 'carol', "$name - WS-User");
    is($call->{headers}{'ws-connection-id'}[0],
       $connect->{headers}{'ws-connection-id'}[0], "$name - WS-Connection-Id");
    ok(!exists $call->{headers}{'ws-opcode'}, "$name - no WS-Opcode: WS-Op says what it is");
    closed($ws, $name);
    closed($watch, $name);
}

{
    my $name = '2xx bodies that are not JSON';
    my $watch = watcher('room:b', $name);
    my $ws = ws_connect(uri => '/text');
    $ws->send_text('{"op":"publish","channel":"room:b","data":1,"id":1}');
    is(reply($ws, $name)->{op}, 'ack', "$name - acknowledged");
    is(reply($watch, $name)->{data}, 'say "hi"', "$name - text/plain: a string");
    closed($ws, $name);
    $ws = ws_connect(uri => '/notjson');
    $ws->send_text('{"op":"publish","channel":"room:b","data":2,"id":2}');
    is(reply($ws, $name)->{op}, 'ack', "$name - acknowledged");
    is(reply($watch, $name)->{data}, '{not json',
       "$name - said JSON but does not parse: a string");
    closed($ws, $name);
    $ws = ws_connect(uri => '/binary');
    $ws->send_text('{"op":"publish","channel":"room:b","data":3,"id":3}');
    is(reply($ws, $name)->{op}, 'ack', "$name - acknowledged");
    my $m = next_message($watch, 5);
    is($m && $m->{op}, 'binary', "$name - WS-Opcode: binary: a binary message");
    is($m && $m->{payload}, "bytes", "$name - of the body");
    closed($ws, $name);
    closed($watch, $name);
}

{
    my $name = '304: published as sent';
    my $watch = watcher('room:c', $name);
    my $copy = watcher('room:copy', $name);
    my $ws = ws_connect(uri => '/keep');
    $ws->send_text('{"op":"publish","channel":"room:c","data":{"text":"hello"},"id":"k"}');
    my $ack = reply($ws, $name);
    is($ack->{id}, 'k', "$name - acknowledged");
    ok($ack->{seq}, "$name - with a seq");
    is_deeply(reply($watch, $name)->{data}, {text => 'hello'},
              "$name - the original, as JSON");
    is_deeply(reply($copy, $name)->{data}, {text => 'hello'},
              "$name - WS-Publish: to that channel too, as JSON");
    closed($ws, $name);
    closed($copy, $name);
    closed($watch, $name);
}

{
    my $name = '304 with WS-Subscribe: the publisher joins first';
    my $ws = ws_connect(uri => '/join');
    $ws->send_text('{"op":"publish","channel":"room:joined","data":"hi","id":"j"}');
    my (@acks, @messages);
    while (@acks + @messages < 2) {
        my $m = next_message($ws, 5) or last;
        my $r = decode_json($m->{payload});
        push @{ $r->{op} eq 'ack' ? \@acks : \@messages }, $r;
    }
    is(scalar @acks, 1, "$name - acknowledged");
    is_deeply([map { [$_->{channel}, $_->{data}] } @messages],
              [['room:joined', 'hi']],
              "$name - and it gets its own message: it joined before the publish");
    my $other = ws_connect(uri => '/watch');
    $other->send_text('{"op":"publish","channel":"room:joined","data":"later","id":1}');
    is(reply($other, $name)->{op}, 'ack', "$name - someone else publishes there");
    my $later = reply($ws, $name);
    is_deeply([$later->{channel}, $later->{data}], ['room:joined', 'later'],
              "$name - the publisher stays in the channel");
    closed($other, $name);
    closed($ws, $name);
}

{
    my $name = '304 with WS-Close: published, then the publisher closed';
    my $watch = watcher('room:bye', $name);
    my $ws = ws_connect(uri => '/bye');
    $ws->send_text('{"op":"publish","channel":"room:bye","data":"last","id":"b"}');
    my $ack = reply($ws, $name);
    is($ack->{op}, 'ack', "$name - acknowledged");
    ok($ack->{seq}, "$name - with a seq: it was published");
    is(reply($watch, $name)->{data}, 'last', "$name - the channel got it");
    my $m = next_message($ws, 5);
    is($m && $m->{op}, 'close', "$name - then a close");
    is($m && $m->{code}, 4001, "$name - with the answer's code");
    is($m && $m->{reason}, 'moderated', "$name - and reason");
    closed($watch, $name);
}

{
    my $name = '204: dropped';
    my $watch = watcher('room:d', $name);
    my $ws = ws_connect(uri => '/drop');
    $ws->send_text('{"op":"publish","channel":"room:d","data":"gone","id":4}');
    is_deeply(reply($ws, $name), {op => 'ack', id => 4},
              "$name - an ack without seq: nothing was published");
    is_deeply([marker($watch, 'room:d', $name)], ['marker'],
              "$name - the channel got nothing");
    closed($ws, $name);
    closed($watch, $name);
}

{
    my $name = '4xx: refused';
    my $watch = watcher('room:e', $name);
    my $ws = ws_connect(uri => '/refuse');
    $ws->send_text('{"op":"publish","channel":"room:e","data":"buy spam","id":5}');
    is_deeply(reply($ws, $name), {op => 'error', id => 5, code => 'rejected',
                                  status => 403,
                                  message => 'this room does not take spam'},
              "$name - rejected, the backend's body as message");
    is_deeply([marker($watch, 'room:e', $name)], ['marker'],
              "$name - the channel got nothing");
    $ws->send_text('{"op":"publish","channel":"room:e","data":"again","id":6}');
    is(reply($ws, $name)->{code}, 'rejected', "$name - the connection goes on");
    closed($ws, $name);
    closed($watch, $name);
}

{
    my $name = '5xx and a backend down: unavailable';
    my $watch = watcher('room:f', $name);
    my $ws = ws_connect(uri => '/fail');
    $ws->send_text('{"op":"publish","channel":"room:f","data":"x","id":8}');
    is_deeply(reply($ws, $name), {op => 'error', id => 8, code => 'unavailable',
                  status => 503,
                  message => 'the backend did not answer, try again later'},
              "$name - 503: unavailable, with the status");
    closed($ws, $name);
    $ws = ws_connect(uri => '/down');
    for my $id (9, 10) {
        $ws->send_text(qq({"op":"publish","channel":"room:f","data":"y","id":$id}));
        is_deeply(reply($ws, $name), {op => 'error', id => $id,
                      code => 'unavailable', status => 502,
                      message => 'the backend did not answer, try again later'},
                  "$name - down: unavailable, 502 (publish $id)");
    }
    is_deeply([marker($watch, 'room:f', $name)], ['marker'],
              "$name - the channel got nothing");
    closed($ws, $name);
    closed($watch, $name);
    like($ngx->error_log,
         qr/ws: message hook "\/internal\/down" failed with 502; further failures are counted/,
         "$name - logged");
    my @lines = $ngx->error_log =~ /(message hook "\/internal\/down" failed)/g;
    is(scalar @lines, 1, "$name - once, not per publish");
}

{
    my $name = 'a channel the static rules forbid';
    $backend->forget;
    my $ws = ws_connect(uri => '/replace');
    $ws->send_text('{"op":"publish","channel":"admin","data":"x","id":11}');
    is_deeply(reply($ws, $name), {op => 'error', id => 11, code => 'forbidden',
                                  message => 'channel not allowed'},
              "$name - forbidden");
    $ws->send_text('{"op":"publish","channel":"room:ok","data":"x","id":12}');
    is(reply($ws, $name)->{op}, 'ack', "$name - an allowed one goes on");
    my @calls = grep { $_->{path} eq '/publish' } backend_requests();
    is(scalar @calls, 1, "$name - one call: the forbidden one never reached the backend");
    is($calls[0]{headers}{'ws-channel'}[0], 'room:ok', "$name - the allowed one did");
    closed($ws, $name);
}

{
    my $name = '200 publishes, 4 in flight, a random wait each';
    my $watch = watcher('room:order', $name);
    my $ws = ws_connect(uri => '/order');
    $ws->send_text(qq({"op":"publish","channel":"room:order","data":$_,"id":$_}))
        for 1 .. 200;
    my (@ids, @seqs);
    while (@ids < 200) {
        my $m = next_message($ws, 10) or last;
        my $r = decode_json($m->{payload});
        next if $r->{op} ne 'ack';
        push @ids, $r->{id};
        push @seqs, $r->{seq};
    }
    is_deeply(\@ids, [1 .. 200], "$name - every ack, in the order sent");
    is_deeply(\@seqs, [$seqs[0] .. $seqs[0] + 199],
              "$name - numbered in that order");
    my @data;
    while (@data < 200) {
        my $m = next_message($watch, 10) or last;
        push @data, decode_json($m->{payload})->{data};
    }
    is_deeply(\@data, [map { "got $_" } 1 .. 200],
              "$name - the answers published in the order sent");
    closed($ws, $name);
    closed($watch, $name);
}

{
    my $name = 'back-pressure: 2 calls at a time, 0.4 s each';
    $backend->forget;
    my $ws = ws_connect(uri => '/slow');
    $ws->send_text(qq({"op":"publish","channel":"room:slow","data":$_,"id":$_}))
        for 1 .. 12;
    sleep 0.6;
    my $seen = grep { $_->{path} eq '/slow' } backend_requests();
    ok($seen >= 1 && $seen <= 4,
       "$name - the backend has seen 2 calls a round, not 12 ($seen)");
    my @ids;
    while (@ids < 12) {
        my $m = next_message($ws, 10) or last;
        push @ids, decode_json($m->{payload})->{id};
    }
    is_deeply(\@ids, [1 .. 12], "$name - then every ack, in order");
    is(scalar(grep { $_->{path} eq '/slow' } backend_requests()), 12,
       "$name - one call each");
    closed($ws, $name);
}

{
    my $name = 'counted as message hook calls';
    my $m = http_request(port => $port, raw =>
        "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")->{body};
    like($m, qr/^ngx_ws_backend_calls_total\{hook="message",status="4xx"\} 2$/m,
         "$name - 4xx");
    like($m, qr/^ngx_ws_backend_calls_total\{hook="message",status="5xx"\} 3$/m,
         "$name - 5xx");
}

check_logs($ngx);

done_testing();
