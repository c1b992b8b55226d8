# Channels: ws_subscribe / ws_publish fan-out across workers, the HTTP
# publish API (ws_publisher), slow-consumer policies and a full zone.
use Test::NgxWs;
use Test::More;

my $port = test_port();

sub post {
    my ($uri, $body, $type) = @_;
    $type //= 'text/plain';
    return http_request(port => $port, raw =>
        "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . "Content-Type: $type\r\nContent-Length: " . length($body)
        . "\r\n\r\n$body");
}

sub get {
    my ($uri) = @_;
    return http_request(port => $port, raw =>
        "GET $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
}

my $channels_http = <<'CONF';
    ws_zone test 4m;
    log_format ws '$pid $ws_connection_id $ws_close_code';
    access_log logs/access.log ws;
CONF

my $channels_config = <<'CONF';
    location ~ ^/chat/(?<room>\w+)$ {
        ws_listen;
        ws_subscribe room:$room;
        ws_publish room:$room;
    }
    location ~ ^/listen/(?<room>\w+)$ {
        ws_listen;
        ws_subscribe room:$room;
    }
    location = /any {
        ws_listen;
        ws_subscribe $arg_channel;
    }
    location ~ ^/pub/(?<room>\w+)$ {
        ws_publisher room:$room;
    }
CONF

{
    my $name = 'fan-out across 4 workers';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        main_config => 'worker_processes 4;',
        http_config => $channels_http, config => $channels_config,
        listen_options => 'reuseport');
    my @clients = map { ws_connect(uri => '/chat/lobby') } 1 .. 24;
    my $info = get('/pub/lobby');
    is($info->{status}, 200, "$name - channel info answers");
    like($info->{body}, qr/"subscribers":24\b/, "$name - 24 subscribers counted across workers");

    my $count = 40;
    $clients[0]->send_text("m$_") for 1 .. $count;
    my $all_in_order = 1;
    for my $i (0 .. $#clients) {
        for my $n (1 .. $count) {
            my $m = eval { $clients[$i]->read_message(5) };
            if (!$m || $m->{op} ne 'text' || $m->{payload} ne "m$n") {
                $all_in_order = 0;
                diag("client $i, message $n: " . ($m ? "$m->{op} $m->{payload}" : ($@ || 'nothing')));
                last;
            }
        }
    }
    ok($all_in_order, "$name - every client got all $count messages in publish order");

    my $res = post('/pub/lobby', 'from backend');
    is($res->{status}, 200, "$name - HTTP publish answers 200");
    like($res->{body}, qr/^\{"channel":"room:lobby","seq":41,"subscribers":24\}/,
         "$name - HTTP publish answer has the next sequence number");
    my $got = 0;
    for my $c (@clients) {
        my $m = eval { $c->read_message(5) };
        $got++ if $m && $m->{op} eq 'text' && $m->{payload} eq 'from backend';
    }
    is($got, 24, "$name - the HTTP publish reached every subscriber");

    $_->send_close(1000) for @clients;
    $_->expect('close 1000', $name) for @clients;
    my %pids;
    ok(wait_for(sub {
        %pids = map { /^(\d+) \d+ 1000$/ ? ($1 => 1) : () } split /\n/, $ngx->access_log;
        keys %pids > 1 }, 5), "$name - the clients were served by several workers");
    like(get('/pub/lobby')->{body}, qr/"subscribers":0\b/,
         "$name - subscribers counted down on close");
    check_logs($ngx);
}

{
    my $name = 'publish API details';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        http_config => $channels_http, config => $channels_config);
    my $ws = ws_connect(uri => '/listen/b');
    my $res = post('/pub/b', "\x00\x01\x02", 'application/octet-stream');
    is($res->{status}, 200, "$name - binary publish answers 200");
    $ws->expect('binary_hex 000102', "$name - binary Content-Type gives a binary message");
    post('/pub/b', '{"a":1}', 'application/json');
    $ws->expect('text {"a":1}', "$name - JSON gives a text message");

    # The server handles a connection's frames in order: once the pong of
    # a later ping is back, the text before it has been dealt with.
    $ws->send_text('ignored');
    $ws->send_ping('after the text');
    $ws->expect('pong after the text', "$name - the text frame was read");
    $res = get('/pub/b');
    like($res->{body}, qr/^\{"channel":"room:b","seq":2,"subscribers":1\}/,
         "$name - a location without ws_publish does not publish");

    $res = get('/pub/nobody');
    like($res->{body}, qr/^\{"channel":"room:nobody","seq":0,"subscribers":0\}/,
         "$name - an unknown channel has no subscribers and no messages");

    $res = http_request(port => $port, raw =>
        "PUT /pub/b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    is($res->{status}, 405, "$name - PUT is not allowed");

    $res = post('/pub/nobody', 'into the void');
    like($res->{body}, qr/"seq":1,"subscribers":0\}/, "$name - publish without subscribers still counts");

    is(ws_handshake_answer(uri => '/any?channel=')->{status}, 400,
       "$name - an empty channel name from the URL is refused with 400");
    ok(wait_for(sub { $ngx->error_log =~ /ws: handshake rejected with 400: invalid channel name/ }, 3),
       "$name - and logged why");

    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    check_logs($ngx);
}

{
    # A body that arrives in pieces, or is larger than
    # client_body_buffer_size, is published whole.
    my $name = 'publish bodies in pieces';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        http_config => $channels_http . "client_body_buffer_size 1k;\n",
        config => $channels_config);
    my $ws = ws_connect(uri => '/listen/p');

    my $head = "POST /pub/p HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
             . "Content-Type: text/plain\r\nContent-Length: 10\r\n\r\n";
    my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die $!;
    syswrite($sock, $head . 'first');
    select(undef, undef, undef, 0.2);
    syswrite($sock, '-last');
    my $answer = '';
    while (sysread($sock, my $chunk, 4096)) { $answer .= $chunk }
    like($answer, qr{^HTTP/1.1 200}, "$name - a body sent in two writes is accepted");
    $ws->expect('text first-last', "$name - and published whole");

    my $big = join '', map { chr(97 + $_ % 26) } 1 .. 5000;
    my $res = post('/pub/p', $big);
    is($res->{status}, 200, "$name - a body past client_body_buffer_size is accepted");
    $ws->expect("text $big", "$name - and published whole");
    $ws->send_close(1000);
    check_logs($ngx);
}

{
    # The publish API follows ws_max_message_size, not NGINX's
    # client_max_body_size (1m by default): a body within the one is taken
    # whatever the other says, a body over it gets the API's JSON 413,
    # whether its length is announced or it comes chunked.
    my $name = 'publish bounded by ws_max_message_size';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        http_config => $channels_http, config => $channels_config . <<'CONF');
    location ~ ^/big/(?<room>\w+)$ {
        ws_publisher room:$room;
        ws_max_message_size 4m;
    }
    location ~ ^/small/(?<room>\w+)$ {
        ws_publisher room:$room;
        ws_max_message_size 10;
        client_max_body_size 100m;
    }
CONF
    my $ws = ws_connect(uri => '/listen/b');
    my $body = join '', map { chr(97 + $_ % 26) } 1 .. 3 * 1024 * 1024;
    my $got_whole = sub {
        my $m = eval { $ws->read_message(10) } || {};
        ok(($m->{op} // '') eq 'text' && $m->{payload} eq $body, $_[0])
            or diag('got ' . ($m->{op} // 'nothing') . ' of '
                    . length($m->{payload} // '') . ' bytes');
    };
    my $res = post('/big/b', $body);
    is($res->{status}, 200, "$name - 3 MiB under ws_max_message_size 4m: 200")
        or diag(substr($res->{body}, 0, 200));
    $got_whole->("$name - and published whole");

    my $chunked = sub {
        my ($uri, @chunks) = @_;
        return http_request(port => $port, timeout => 10, raw =>
            "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            . "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            . join('', map { sprintf("%x\r\n%s\r\n", length, $_) } @chunks)
            . "0\r\n\r\n");
    };
    $res = $chunked->('/big/b', ($body) x 1);
    is($res->{status}, 200, "$name - 3 MiB chunked: 200");
    $got_whole->("$name - and published whole");
    $res = $chunked->('/big/b', 'one ', 'two');
    is($res->{status}, 200, "$name - small chunks: 200");
    $ws->expect('text one two', "$name - and published whole");

    my $over = $body . $body;
    $res = post('/big/b', $over);
    is($res->{status}, 413, "$name - 6 MiB announced: 413");
    is($res->{header}{'content-type'}, 'application/json', "$name - as JSON");
    like($res->{body}, qr/^\{"channel":"room:b","error":"message too large"\}\r?\n$/,
         "$name - the API's own error");
    like($ngx->error_log,
         qr/ws: publish of 6291456 bytes to channel "room:b" is over ws_max_message_size 4194304/,
         "$name - logged with the sizes");

    $res = $chunked->('/big/b', ($body) x 2);
    is($res->{status}, 413, "$name - 6 MiB chunked: 413");
    like($res->{body}, qr/"error":"message too large"/, "$name - as JSON");

    $res = $chunked->('/small/b', 'twelve bytes');
    is($res->{status}, 413, "$name - a chunked body over a 10-byte bound: 413");
    like($res->{body}, qr/"error":"message too large"/, "$name - as JSON");
    $res = post('/small/b', 'ten bytes!');
    is($res->{status}, 200, "$name - exactly 10 bytes: 200");
    $ws->expect('text ten bytes!', "$name - and published");

    # over the bound: no "100 Continue", the answer comes before the body
    my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die $!;
    syswrite($sock, "POST /big/b HTTP/1.1\r\nHost: localhost\r\n"
                  . "Connection: close\r\nExpect: 100-continue\r\n"
                  . "Content-Length: 5000000\r\n\r\n");
    my $answer = '';
    while (sysread($sock, my $chunk, 4096)) { $answer .= $chunk }
    like($answer, qr{^HTTP/1.1 413 }, "$name - Expect: 100-continue over the bound: 413 at once");

    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    check_logs($ngx);
}

{
    my $name = 'slow consumer closed with 1008';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        listen_options => 'sndbuf=4k',
        http_config => $channels_http, config => <<'CONF');
    location /slow {
        ws_listen;
        ws_subscribe news;
        ws_send_buffer 4k;
    }
    location /pub { ws_listen; ws_publish news; }
CONF
    my $ws = ws_connect(uri => '/slow', rcvbuf => 4096, no_close_reply => 1);
    my $publisher = ws_connect(uri => '/pub');
    $publisher->send_text('x' x 2000) for 1 .. 2000;
    ok(wait_for(sub { $ngx->error_log =~ /\*\d+ ws: send buffer over 4096 bytes, closing with 1008/ }, 5),
       "$name - error.log has: send buffer over 4096 bytes, closing with 1008");
    my $close;
    while (my $m = eval { $ws->read_message(3) }) {
        if ($m->{op} eq 'close') { $close = $m; last }
    }
    is($close && $close->{code}, 1008, "$name - the client got close 1008 after the queued messages");
    check_logs($ngx);
}

{
    my $name = 'slow consumer with drop policy';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        listen_options => 'sndbuf=4k',
        http_config => $channels_http, config => <<'CONF');
    location /slow {
        ws_listen;
        ws_subscribe news;
        ws_send_buffer 4k;
        ws_slow_consumer drop;
    }
    location /pub { ws_listen; ws_publish news; }
CONF
    my $ws = ws_connect(uri => '/slow', rcvbuf => 4096);
    my $publisher = ws_connect(uri => '/pub');
    $publisher->send_text('y' x 2000) for 1 .. 2000;
    ok(wait_for(sub { $ngx->error_log =~ /\*\d+ ws: send buffer over 4096 bytes, dropping messages/ }, 5),
       "$name - error.log has: dropping messages");
    my $n = 0;
    while (my $m = eval { $ws->read_message(1) }) {
        last unless $m->{op} eq 'text';
        $n++;
    }
    cmp_ok($n, '>', 0, "$name - the client still gets messages");
    $publisher->send_text('after the drop');
    my $m = eval { $ws->read_message(3) };
    is($m && $m->{payload}, 'after the drop', "$name - and the connection stays open");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    check_logs($ngx);
}

{
    # The subscription is made before the 101: a zone with no room for a
    # new channel gets an HTTP answer, not a WebSocket that closes at once.
    my $name = 'subscribing into a full zone';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        http_config => 'ws_zone small 128k;', config => <<'CONF');
    location ~ ^/sub/(?<c>\w+)$ { ws_listen; ws_subscribe $c; }
CONF
    my @open;
    for my $j (0 .. 999) {
        my $c = eval { ws_connect(uri => "/sub/fill$j") } or last;
        push @open, $c;
    }
    cmp_ok(scalar(@open), '<', 1000, "$name - the zone filled up after " . @open . " channels");
    # the one that did not fit, asked again with a status check
    is(ws_handshake_answer(uri => '/sub/fill' . @open)->{status}, 503,
       "$name - a new channel that does not fit is answered 503");
    ok(wait_for(sub { $ngx->error_log =~ /ws: ws_zone is full, cannot subscribe to channel "fill\d+"/
                      && $ngx->error_log =~ /\*\d+ ws: handshake rejected with 503: cannot subscribe to its channels/ }, 3),
       "$name - error.log says why, with the connection id");
    $open[0]->send_text('still here');
    $open[0]->send_close(1000);
    $open[0]->expect('close 1000', "$name - the open ones are unharmed");
    check_logs($ngx);
}

{
    my $name = 'full zone';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        http_config => 'ws_zone small 128k;', config => <<'CONF');
    location ~ ^/pub/(?<c>\w+)$ { ws_publisher $c; }
CONF
    my ($status, $i) = (200, 0);
    while ($status == 200 && $i < 5000) {
        $status = post("/pub/channel$i", 'x')->{status};
        $i++;
    }
    is($status, 507, "$name - publishing into a full zone answers 507 (after $i channels)");
    ok(wait_for(sub { $ngx->error_log =~ /ws: ws_zone is full, cannot publish to channel "channel\d+"/ }, 3),
       "$name - error.log names the channel");
    is(get('/pub/channel0')->{status}, 200, "$name - the server still answers");
    check_logs($ngx);
}

{
    # Direct routing: conn:<id> reaches that one connection, on whichever
    # worker holds it; nobody can subscribe to another's.
    my $name = 'direct routing';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        main_config => 'worker_processes 2;', listen_options => 'reuseport',
        http_config => $channels_http, config => <<'CONF');
    location ~ ^/listen/(?<room>\w+)$ {
        ws_listen;
        ws_subscribe room:$room;
        add_header X-WS-Connection-Id $ws_connection_id always;
    }
    location /json {
        ws_listen;
        ws_protocol json;
        ws_channels_allow *;
    }
    location ~ ^/pub/(?<c>[\w:]+)$ { ws_publisher $c; }
    location /bad { ws_listen; ws_subscribe $arg_c; }
CONF
    my @clients = map { ws_connect(uri => '/listen/d') } 1 .. 6;
    my @ids = map { $_->{response}{header}{'x-ws-connection-id'} } @clients;
    ok(!grep({ !defined || !/^\d+$/ } @ids), "$name - the 101 names each connection id");
    for my $i (0 .. $#clients) {
        my $res = post("/pub/conn:$ids[$i]", "just for $i");
        is($res->{status}, 202, "$name - a direct publish is accepted (202)");
    }
    for my $i (0 .. $#clients) {
        $clients[$i]->expect("text just for $i", "$name - client $i got its own message");
    }
    # a name is the connection's only as written: no leading zero, no tail
    post("/pub/conn:0$ids[0]", 'zero-padded');
    post("/pub/conn:$ids[0]0", 'another number');
    post('/pub/room:d', 'everyone');
    $_->expect('text everyone', "$name - and nothing else before the room message") for @clients;

    my $json = ws_connect(uri => '/json');
    $json->send_text(qq({"op":"subscribe","channel":"conn:$ids[0]","id":1}));
    $json->expect('text {"op":"error","id":1,"code":"forbidden","message":"channel not allowed"}',
                  "$name - subscribing to another connection's channel is forbidden");
    $json->send_text(qq({"op":"publish","channel":"conn:$ids[1]","data":{"dm":1},"id":2}));
    $json->expect('text {"op":"ack","id":2}', "$name - a control-protocol client may send a direct message");
    $clients[1]->expect('text {"dm":1}', "$name - which arrives at that connection alone");
    is(ws_handshake_answer(uri => '/bad?c=conn:1')->{status}, 400,
       "$name - ws_subscribe of a conn: channel from the URL is refused with 400");
    $_->send_close(1000) for @clients, $json;
    check_logs($ngx);
}

{
    # The zone outlives a reload: sequence numbers continue, old workers
    # say 1001 to their subscribers, new subscribers get new messages.
    my $name = 'reload while publishing';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        main_config => 'worker_processes 2;',
        http_config => $channels_http, config => $channels_config);
    my @old = map { ws_connect(uri => '/listen/r') } 1 .. 4;
    post('/pub/r', "before $_") for 1 .. 5;
    for my $c (@old) {
        $c->expect("text before $_", "$name - before reload") for 1 .. 5;
    }
    my %old_workers = map { $_ => 1 } $ngx->workers;
    $ngx->signal('HUP');
    my $answered = 0;
    for (1 .. 20) {
        my $res = post('/pub/r', "during $_");
        $answered++ if $res->{status} == 200;
    }
    is($answered, 20, "$name - publishing answered throughout the reload");
    for my $i (0 .. $#old) {
        my $close;
        while (my $m = eval { $old[$i]->read_message(5) }) {
            if ($m->{op} eq 'close') { $close = $m; last }
        }
        is($close && $close->{code}, 1001, "$name - old subscriber $i got 1001");
    }
    # An old worker may still hold the listening socket for a moment after
    # its subscribers are closed; a subscriber it accepted would be closed
    # with 1001 too, so the new one waits until only new workers remain.
    ok(wait_for(sub { !grep { $old_workers{$_} } $ngx->workers }, 10),
       "$name - the old workers have exited");
    my $new = ws_connect(uri => '/listen/r');
    ok(wait_for(sub { get('/pub/r')->{body} =~ /"subscribers":1\b/ }, 5),
       "$name - the old subscribers are counted out, the new one in");
    my $res = post('/pub/r', 'after');
    like($res->{body}, qr/"seq":26,/, "$name - sequence numbers continued across the reload");
    $new->expect('text after', "$name - a new subscriber gets new messages");
    $new->send_close(1000);
    $new->expect('close 1000', $name);
    check_logs($ngx);
}

done_testing();
