# The WS-* headers of a message hook's answer act on the JSON protocol's
# rpc and send as they do on raw messages (docs/backends.md, "RPC and
# send"): WS-Unsubscribe and WS-Subscribe change the caller's channels
# before its reply, WS-Publish publishes the request's data (304) or the
# answer's body (2xx) once the reply is out, WS-Opcode: binary publishes
# the body as a binary message (the ack then carries no data), WS-Close
# closes after the reply. A refusal's or a failure's headers do nothing;
# an answer whose headers break the rules is an "unavailable" error.
# Against the Node backend of t/lib/message_backend.js: each request's
# data is the answer its call gets.
use Test::NgxWs;
use Test::More;
use JSON::PP qw(decode_json encode_json);
use Test::NgxWs::MessageBackend;
use Test::NgxWs::HookConfig;

my $port = test_port();
my $nport = $port + 1;

Test::NgxWs::MessageBackend->start(port => $nport);

my $ngx = start_nginx(name => 'rpc answer headers', log_level => 'info',
    http_config => hooks_http_config(zone => 'rpcheaders', port => $nport),
    config => message_backend_location('/internal/node') . <<'CONF');
    location /rpc {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
        ws_backend_message /internal/node;
    }
    location ~ ^/listen/(?<ch>[\w:]+)$ {
        ws_listen;
        ws_subscribe $ch;
    }
    location ~ ^/pub/(?<ch>[\w:]+)$ {
        ws_publisher $ch;
    }
    location = /metrics { ws_status; }
CONF

# an rpc whose data is the answer its call gets
sub rpc {
    my ($ws, $id, %answer) = @_;
    $ws->send_text(encode_json({op => 'rpc', method => 'm', id => $id,
                                data => {%answer}}));
}

sub reply {
    my ($ws, $name) = @_;
    # a reply that never comes fails its checks, not the file
    my $m = eval { $ws->read_message(5) };
    ok($m && $m->{op} eq 'text', "$name - a text message") or return {};
    return eval { decode_json($m->{payload}) } // {payload => $m->{payload}};
}

{
    my $name = 'WS-Subscribe and WS-Unsubscribe';
    my $ws = ws_connect(uri => '/rpc');
    rpc($ws, 1, status => 200, body => '{"ok":true}',
        headers => { 'Content-Type' => 'application/json',
                     'WS-Subscribe' => 'news, alerts' });
    is_deeply(reply($ws, $name), {op => 'ack', id => 1, data => {ok => JSON::PP::true}},
              "$name - the ack carries the answer");
    like(publish($port, 'news', 'n1')->{body}, qr/"subscribers":1/,
         "$name - the caller is a subscriber of news");
    is_deeply(reply($ws, $name), {op => 'message', channel => 'news', seq => 1, data => 'n1'},
              "$name - and gets what is published there");
    publish($port, 'alerts', 'a1');
    is(reply($ws, $name)->{channel}, 'alerts', "$name - every channel of the list");

    $ws->send_text(encode_json({op => 'send', id => 2,
                                data => {status => 204,
                                         headers => { 'WS-Unsubscribe' => 'news' }}}));
    is_deeply(reply($ws, $name), {op => 'ack', id => 2}, "$name - a send's 204 is acked");
    publish($port, 'news', 'n2');
    publish($port, 'alerts', 'a2');
    is_deeply(reply($ws, $name), {op => 'message', channel => 'alerts', seq => 2, data => 'a2'},
              "$name - left news, kept alerts");
    $ws->disconnect;
}

{
    my $name = 'WS-Publish';
    my $side = ws_connect(uri => '/listen/side');
    my $ws = ws_connect(uri => '/rpc');
    my %keep = (status => 304, headers => { 'WS-Publish' => 'side' });
    rpc($ws, 3, %keep);
    is_deeply(reply($ws, $name), {op => 'ack', id => 3}, "$name - 304: acked");
    my $got = eval { $side->read_message(5) };
    is($got && $got->{op}, 'text', "$name - 304: the request's data is published as text");
    is_deeply(scalar(eval { decode_json($got->{payload}) }), \%keep, "$name - 304: as the client sent it");

    rpc($ws, 4, status => 200, body => 'swapped', headers => { 'WS-Publish' => 'side' });
    is_deeply(reply($ws, $name), {op => 'ack', id => 4, data => 'swapped'},
              "$name - 200: the body in the ack");
    $side->expect('text swapped', "$name - 200: and published");

    rpc($ws, 5, status => 204, headers => { 'WS-Publish' => 'side' });
    is_deeply(reply($ws, $name), {op => 'ack', id => 5}, "$name - 204: acked");
    rpc($ws, 6, status => 403, body => 'no', headers => { 'WS-Publish' => 'side' });
    is_deeply(reply($ws, $name), {op => 'error', id => 6, code => 'rejected', status => 403,
                                  message => 'no'}, "$name - 403: rejected");
    rpc($ws, 7, status => 200, body => 'fence', headers => { 'WS-Publish' => 'side' });
    reply($ws, $name);
    $side->expect('text fence',
                  "$name - nothing published for the 204 and the 403 before it");

    rpc($ws, 8, status => 200, body => "\x01\x02",
        headers => { 'WS-Opcode' => 'binary', 'WS-Publish' => 'side' });
    is_deeply(reply($ws, $name), {op => 'ack', id => 8},
              "$name - WS-Opcode: binary: the ack carries no data");
    $side->expect('binary_hex 0102', "$name - the body is published as binary");

    # a JSON-protocol subscriber reads JSON as JSON, text as a string
    my $member = ws_connect(uri => '/rpc');
    $member->send_text('{"op":"subscribe","channel":"room:x","id":"s"}');
    is(reply($member, $name)->{op}, 'ack', "$name - a JSON subscriber of room:x");
    $ws->send_text(encode_json({op => 'send', id => 20,
                                data => {status => 304, headers => { 'WS-Publish' => 'room:x' }}}));
    reply($ws, $name);
    is_deeply(reply($member, $name)->{data},
              {status => 304, headers => { 'WS-Publish' => 'room:x' }},
              "$name - 304: the request's data as JSON");
    rpc($ws, 21, status => 200, body => '{"n":1}',
        headers => { 'Content-Type' => 'application/json', 'WS-Publish' => 'room:x' });
    reply($ws, $name);
    is_deeply(reply($member, $name)->{data}, {n => 1}, "$name - a JSON body as JSON");
    rpc($ws, 22, status => 200, body => '{"n":2}', headers => { 'WS-Publish' => 'room:x' });
    reply($ws, $name);
    is(reply($member, $name)->{data}, '{"n":2}', "$name - a body not said to be JSON as a string");
    $_->disconnect for $ws, $side, $member;
}

{
    my $name = 'WS-Close';
    my $ws = ws_connect(uri => '/rpc');
    rpc($ws, 9, status => 200, body => 'bye', headers => { 'WS-Close' => '4001 see you' });
    is_deeply(reply($ws, $name), {op => 'ack', id => 9, data => 'bye'}, "$name - the reply first");
    my $close = eval { $ws->read_message(5) };
    is($close && $close->{code}, 4001, "$name - then the close code");
    is($close && $close->{reason}, 'see you', "$name - and its reason");
    $ws->disconnect;
}

{
    my $name = 'headers that break the rules';
    my $ws = ws_connect(uri => '/rpc');
    rpc($ws, 10, status => 200, body => 'x', headers => { 'WS-Subscribe' => 'bad*name' });
    is_deeply(reply($ws, $name),
              {op => 'error', id => 10, code => 'unavailable', status => 502,
               message => 'the backend did not answer, try again later'},
              "$name - an unavailable error");
    like($ngx->error_log,
         qr/rpc hook "\/internal\/node" answer refused: a WS-Subscribe, WS-Unsubscribe or WS-Publish channel name is invalid/,
         "$name - logged with the reason");
    rpc($ws, 11, status => 403, headers => { 'WS-Subscribe' => 'news' });
    is(reply($ws, $name)->{code}, 'rejected', "$name - a refusal");
    like(publish($port, 'news', 'n3')->{body}, qr/"subscribers":0/,
         "$name - whose WS-Subscribe did nothing");
    rpc($ws, 12, status => 200, body => 'x', headers => { 'WS-Close' => '1005' });
    is(reply($ws, $name)->{code}, 'unavailable', "$name - a bad WS-Close too");
    rpc($ws, 13, status => 200, body => 'alive');
    is(reply($ws, $name)->{data}, 'alive', "$name - the connection goes on");
    $ws->disconnect;
}

check_logs($ngx);

done_testing();
