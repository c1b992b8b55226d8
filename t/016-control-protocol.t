# The JSON control protocol (ws_protocol json): subscribe, unsubscribe,
# publish with acks; bad requests get error objects and the connection
# stays open; delivery across workers in the JSON envelope.
use Test::NgxWs;
use Test::More;

my $port = test_port();

my $http = 'ws_zone test 4m;';
my $config = <<'CONF';
    location /ws {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:* news;
        ws_max_subscriptions 3;
    }
    location /raw {
        ws_listen;
        ws_subscribe room:a;
        ws_publish room:a;
    }
    location ~ ^/pub/(?<c>[\w:]+)$ { ws_publisher $c; }
    location /pub-any { ws_publisher $arg_c; }
CONF

sub expect_text {
    my ($ws, $want, $name) = @_;
    my $m = eval { $ws->read_message(5) };
    my $got = $m ? $m->{payload} : ($@ || 'nothing');
    if (ref $want) {
        like($got, $want, $name);
    } else {
        is($got, $want, $name);
    }
}

{
    my $name = 'control protocol';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        main_config => 'worker_processes 2;', listen_options => 'reuseport',
        http_config => $http, config => $config);

    my $a = ws_connect(uri => '/ws');
    my $b = ws_connect(uri => '/ws');

    $a->send_text('{"op":"subscribe","channel":"room:a","id":1}');
    expect_text($a, '{"op":"ack","id":1}', "$name - subscribe acked");
    $b->send_text('{"op":"subscribe","channel":"room:a","id":"x"}');
    expect_text($b, '{"op":"ack","id":"x"}', "$name - string ids echoed");

    $b->send_text('{"op":"publish","channel":"room:a","data":{"text":"hi","n":[1,2]},"id":2}');
    expect_text($b, '{"op":"ack","id":2,"seq":1}', "$name - publish acked with the sequence number");
    expect_text($b, '{"op":"message","channel":"room:a","seq":1,"data":{"text":"hi","n":[1,2]}}',
        "$name - the publisher, subscribed, gets its message");
    expect_text($a, '{"op":"message","channel":"room:a","seq":1,"data":{"text":"hi","n":[1,2]}}',
        "$name - the other subscriber gets it in the envelope");

    my $raw = ws_connect(uri => '/raw');
    $raw->send_text("plain \"text\"\n");
    expect_text($a, '{"op":"message","channel":"room:a","seq":2,"data":"plain \"text\"\n"}',
        "$name - a raw client's text arrives as a JSON string");
    $raw->expect("text plain \"text\"\n", "$name - the raw client gets its own message as is");
    $b->read_message(5);

    $b->send_text('{"op":"publish","channel":"room:a","data":"from json"}');
    $raw->expect('text "from json"', "$name - a JSON publish reaches raw clients as the data's JSON text");
    $b->read_message(5) for 1 .. 2;
    $a->read_message(5);

    my $res = http_request(port => $port, raw =>
        "POST /pub/room:a HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . "Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nhttp");
    like($res->{body}, qr/"seq":4,/, "$name - HTTP publish continues the sequence");
    expect_text($a, '{"op":"message","channel":"room:a","seq":4,"data":"http"}',
        "$name - HTTP publishes arrive in the envelope");
    expect_text($b, qr/"seq":4,/, "$name - to every JSON subscriber");

    # errors: the connection survives each
    my @bad = (
        ['not json', qr/^\{"op":"error","id":null,"code":"bad_request","message":"bad json"\}$/],
        ['{"op":"dance","channel":"room:a","id":5}', qr/"id":5,"code":"bad_request","message":"unknown op"/],
        ['{"op":"subscribe","id":6}', qr/"id":6,"code":"bad_request","message":"missing channel"/],
        ['{"op":"publish","channel":"room:a","id":7}', qr/"id":7,"code":"bad_request","message":"missing data"/],
        ['{"op":"subscribe","channel":"secret","id":8}', qr/"id":8,"code":"forbidden","message":"channel not allowed"/],
        ['{"op":"publish","channel":"secret","data":1,"id":9}', qr/"id":9,"code":"forbidden"/],
        ['{"op":"unsubscribe","channel":"room:zzz","id":10}', qr/"id":10,"code":"not_subscribed"/],
        ['{"op":"subscribe","channel":"room: a","id":11}', qr/"id":11,"code":"bad_channel"/],
        # wildcards belong to allow-list patterns, never to channel names:
        # "room:*" matches the pattern room:*, yet is no channel to join
        ['{"op":"subscribe","channel":"room:*","id":12}', qr/"id":12,"code":"bad_channel"/],
        ['{"op":"subscribe","channel":"room:?","id":13}', qr/"id":13,"code":"bad_channel"/],
        ['{"op":"publish","channel":"room:*","data":1,"id":14}', qr/"id":14,"code":"bad_channel"/],
    );
    for my $case (@bad) {
        $a->send_text($case->[0]);
        expect_text($a, $case->[1], "$name - error object for: $case->[0]");
    }
    for my $c ('room:*', 'room:?') {
        my $res = http_request(port => $port, raw =>
            "POST /pub-any?c=$c HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            . "Content-Length: 1\r\n\r\nx");
        is($res->{status}, 400, "$name - a publish to \"$c\" is refused with 400");
    }
    $a->send_binary("\x01\x02");
    expect_text($a, qr/"code":"unsupported"/, "$name - binary messages get an error object");
    ok(wait_for(sub { $ngx->error_log =~ /ws: channel "secret" not allowed/ }, 3),
       "$name - forbidden channels are logged");

    $a->send_text('{"op":"subscribe","channel":"room:b","id":20}');
    expect_text($a, '{"op":"ack","id":20}', "$name - second subscription");
    $a->send_text('{"op":"subscribe","channel":"news","id":21}');
    expect_text($a, '{"op":"ack","id":21}', "$name - third subscription");
    $a->send_text('{"op":"subscribe","channel":"room:c","id":22}');
    expect_text($a, qr/"id":22,"code":"too_many_subscriptions"/, "$name - ws_max_subscriptions enforced");

    $a->send_text('{"op":"unsubscribe","channel":"room:a","id":23}');
    expect_text($a, '{"op":"ack","id":23}', "$name - unsubscribe acked");
    $b->send_text('{"op":"publish","channel":"room:a","data":"after","id":24}');
    expect_text($b, qr/"id":24,"seq":5/, "$name - publish after the unsubscribe");
    $b->send_text('{"op":"publish","channel":"news","data":"headline","id":25}');
    expect_text($a, '{"op":"message","channel":"news","seq":1,"data":"headline"}',
        "$name - the unsubscribed channel is skipped, the others still arrive");

    like(http_request(port => $port, raw =>
        "GET /pub/room:a HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")->{body},
        qr/"subscribers":2\b/, "$name - subscriber counts follow subscribe and unsubscribe");

    $_->send_close(1000) for $a, $b, $raw;
    check_logs($ngx);
}

done_testing();
