# ws_proxy_pass: ngx_ws in front of WebSocket applications we did not
# write (Node's `ws`, Python's `websockets`), and of one that breaks the
# protocol on purpose (t/proxy/bad_upstream.py, a raw socket). The
# upstream's 101 decides the client's; messages go both ways with the
# client-side guards; close codes go through; a broken or vanished
# upstream gives the client 1011 or 1014.
use Test::NgxWs;
use Test::More;
use IPC::Open2 qw(open2);
use JSON::PP qw(decode_json);

my $port = test_port();
my $node = $port + 1;      # Node ws echo
my $py = $port + 2;        # Python websockets app
my $bad = $port + 3;       # the raw-socket upstream that misbehaves
my $dead = $port + 4;      # nothing listens there
my $root = repo_root();

sub start_server {
    my ($name, $expect, @cmd) = @_;
    my $pid = open2(my $out, my $in, @cmd);
    my $said = <$out> // '';
    like($said, $expect, "$name listens");
    return $pid;
}

SKIP: {
    skip 'node-ws missing', 1
        unless system('NODE_PATH=/usr/share/nodejs node -e "require(\'ws\')" 2>/dev/null') == 0;
    start_server('node ws echo', qr/node ws echo on/, 'env',
                 'NODE_PATH=/usr/share/nodejs', 'node',
                 "$root/bench/node_echo_server.js", $node);
}
start_server('python websockets', qr/listening/, '/usr/bin/python3',
             "$root/t/proxy/python_upstream.py", $py);
start_server('bad upstream', qr/listening/, '/usr/bin/python3',
             "$root/t/proxy/bad_upstream.py", $bad);

my $http = <<CONF;
    upstream failover {
        server 127.0.0.1:$dead;
        server 127.0.0.1:$py;
    }
    upstream alldead {
        server 127.0.0.1:$dead;
    }
    log_format proxied '\$uri \$status up=\$ws_upstream_addr '
                       'in=\$ws_upstream_messages_in out=\$ws_upstream_messages_out '
                       'code=\$ws_upstream_close_code by=\$ws_upstream_closed_by';
CONF

my $config = <<CONF;
    access_log logs/proxied.log proxied;
    location /node/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$node/;
        ws_max_message_size 4m;
        ws_max_frame_size 4m;
    }
    location /node-big/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$node/;
        ws_max_message_size 32m;
        ws_max_frame_size 32m;
    }
    location /py/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$py;
        ws_max_message_size 1m;
    }
    location /set/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$py/headers;
        ws_proxy_set_header X-Tenant "t-\$arg_t";
        ws_proxy_set_header Cookie "";
        ws_proxy_set_header host app.internal;
    }
    location /small/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$py/echo;
        ws_max_message_size 1k;
    }
    location /deflate/ {
        ws_listen;
        ws_deflate on;
        ws_proxy_pass ws://127.0.0.1:$py/echo;
    }
    location /bad/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$bad;
        ws_proxy_handshake_timeout 500ms;
    }
    location /failover/ {
        ws_listen;
        ws_proxy_pass ws://failover/peer;
    }
    location /alldead/ {
        ws_listen;
        ws_proxy_pass ws://alldead;
    }
CONF

my $ngx = start_nginx(name => 'proxy', http_config => $http,
                      config => $config, log_level => 'info');

# ---- relaying messages ------------------------------------------------

SKIP: {
    skip 'node-ws missing', 10
        unless system('NODE_PATH=/usr/share/nodejs node -e "require(\'ws\')" 2>/dev/null') == 0;
    my $ws = ws_connect(uri => '/node/');
    $ws->send_text('hello node');
    $ws->expect('text hello node', 'node: text echoed as text');
    $ws->send_dsl('binary_hex 00ff10');
    $ws->expect('binary_hex 00ff10', 'node: binary echoed as binary');
    $ws->send_dsl('frame fin=0 op=text payload=frag');
    $ws->send_dsl('frame fin=0 op=cont payload=men');
    $ws->send_dsl('frame fin=1 op=cont payload=ted');
    $ws->expect('text fragmented', 'node: a fragmented message arrives whole');
    $ws->send_dsl('binary len=3000000');
    $ws->expect('binary len=3000000', 'node: a 3 MB message both ways');
    my $big = ws_connect(uri => '/node-big/', timeout => 60);
    $big->send_dsl('binary len=20000000');
    $big->expect('binary len=20000000', 'node: a 20 MB message both ways');
    $big->send_close(1000);
    $big->expect('close 1000', 'node: big closed');
    $ws->send_dsl('ping abc');
    $ws->expect('pong abc', 'node: our pong, not the upstream\'s ping');
    $ws->send_close(1000);
    $ws->expect('close 1000', 'node: close 1000 both ways');
    $ws->expect_eof('node: closed');
}

{
    my $ws = ws_connect(uri => '/py/echo');
    $ws->send_text("caf\xc3\xa9");
    $ws->expect("text_hex 636166c3a9", 'python: UTF-8 text relayed byte for byte');
    $ws->send_dsl('binary len=70000');
    $ws->expect('binary len=70000', 'python: binary with a 64-bit length');
    $ws->send_close(4123, 'mine');
    $ws->expect('close 4123', 'python: the client\'s own close code comes back');
    $ws->expect_eof('python: closed');
}

# ---- what the handshake forwards, and what decides it ------------------

{
    my $ws = ws_connect(uri => '/py/headers?x=1',
        headers => "Sec-WebSocket-Protocol: superchat, other\n"
                 . "Cookie: session=abc\nAuthorization: Bearer t0k\n"
                 . "X-Forwarded-For: 10.0.0.1\nOrigin: http://example.com\n");
    is($ws->{response}{header}{'sec-websocket-protocol'}, 'superchat',
       'the subprotocol the upstream chose is the client\'s');
    $ws->send_text('show');
    my $msg = $ws->read_message;
    my $seen = decode_json($msg->{payload});
    my %h = map { lc($_) => $seen->{headers}{$_} } keys %{ $seen->{headers} };
    is($seen->{path}, '/py/headers?x=1', 'the client\'s URI is the upstream\'s');
    is($h{cookie}, 'session=abc', 'Cookie forwarded');
    is($h{authorization}, 'Bearer t0k', 'Authorization forwarded');
    is($h{origin}, 'http://example.com', 'Origin forwarded');
    is($h{'x-forwarded-for'}, '10.0.0.1, 127.0.0.1',
       'X-Forwarded-For: the client appended');
    is($h{'x-forwarded-proto'}, 'http', 'X-Forwarded-Proto');
    is($h{'sec-websocket-protocol'}, 'superchat, other',
       'the subprotocol offer forwarded');
    ok(!exists $h{'sec-websocket-extensions'},
       'no extension offered upstream (deflate stays with the client)');
    isnt($h{'sec-websocket-key'}, undef, 'a key of our own');
    $ws->send_close(1000);
    $ws->expect('close 1000', 'headers: closed');
}

{
    my $ws = ws_connect(uri => '/set/?t=42',
        headers => "Cookie: secret=1\nAuthorization: Bearer x\n");
    $ws->send_text('show');
    my $seen = decode_json($ws->read_message->{payload});
    my %h = map { lc($_) => $seen->{headers}{$_} } keys %{ $seen->{headers} };
    is($h{'x-tenant'}, 't-42', 'ws_proxy_set_header: a header of our own, with a variable');
    ok(!exists $h{cookie}, 'ws_proxy_set_header Cookie "": the cookie is not forwarded');
    is($h{host}, 'app.internal', 'ws_proxy_set_header replaces Host');
    is($h{authorization}, 'Bearer x', 'what it does not name is forwarded as before');
    $ws->send_close(1000);
    $ws->expect('close 1000', 'set: closed');
}

{
    my $res = ws_handshake_answer(uri => '/py/refuse');
    is($res->{status}, 403, 'the upstream\'s 403 is the client\'s');
    $res = ws_handshake_answer(uri => '/py/notfound');
    is($res->{status}, 404, 'the upstream\'s 404 is the client\'s');
    $res = ws_handshake_answer(uri => '/alldead/');
    is($res->{status}, 502, 'no upstream reachable: 502');
    $res = ws_handshake_answer(uri => '/bad/silent');
    is($res->{status}, 504, 'an upstream that never answers: 504');
    $res = ws_handshake_answer(uri => '/bad/bad-accept');
    is($res->{status}, 502, 'a 101 with a wrong Sec-WebSocket-Accept: 502');
    $res = ws_handshake_answer(uri => '/bad/bad-protocol',
                               headers => "Sec-WebSocket-Protocol: chat\n");
    is($res->{status}, 502, 'a 101 choosing a subprotocol not offered: 502');
    $res = ws_handshake_answer(uri => '/bad/bad-extension');
    is($res->{status}, 502, 'a 101 with an extension not offered: 502');
    $res = ws_handshake_answer(uri => '/bad/no-upgrade');
    is($res->{status}, 502, 'a 101 without Upgrade: websocket: 502');
}

{
    # the first peer is down: the second answers, every time
    for my $i (1 .. 3) {
        my $ws = ws_connect(uri => '/failover/');
        $ws->send_text('who');
        $ws->expect("text $py", "failover $i: the live peer answered");
        $ws->send_close(1000);
        $ws->expect('close 1000', "failover $i: closed");
    }
}

# ---- client-side guards in front of the upstream ----------------------

{
    my $ws = ws_connect(uri => '/small/');
    $ws->send_dsl('text len=1000');
    $ws->expect('text len=1000', 'limit: a message within it is relayed');
    $ws->send_dsl('text len=2000');
    $ws->expect('close 1009', 'limit: over ws_max_message_size is 1009, '
                . 'the upstream never sees it');
}

{
    my $ws = ws_connect(uri => '/deflate/',
        headers => "Sec-WebSocket-Extensions: permessage-deflate\n");
    like($ws->{response}{header}{'sec-websocket-extensions'} // '',
         qr/permessage-deflate/, 'deflate agreed with the client');
    $ws->send_dsl('text len=5000');
    my $f = $ws->read_frame;
    ok($f->{rsv} & 4, 'the upstream\'s plain message reaches the client compressed');
    $ws->disconnect;
}

# ---- upstreams that break the protocol or vanish ----------------------

{
    my $ws = ws_connect(uri => '/bad/invalid-utf8');
    $ws->expect('close 1011', 'upstream sends invalid UTF-8: the client gets 1011');
    my $ws2 = ws_connect(uri => '/bad/masked');
    $ws2->expect('close 1011', 'upstream sends a masked frame: the client gets 1011');
    my $ws3 = ws_connect(uri => '/bad/big-reserved');
    $ws3->expect('close 1011', 'upstream sets RSV2: the client gets 1011');
    my $ws4 = ws_connect(uri => '/bad/die');
    $ws4->expect('close 1014', 'upstream dies mid-message: the client gets 1014');
}

{
    my $ws = ws_connect(uri => '/py/close4000');
    $ws->send_text('bye please');
    $ws->expect('close 4000 app bye', 'the upstream\'s close code and reason reach the client');
}

{
    # the client vanishes: the upstream gets 1001
    my $ws = ws_connect(uri => '/py/record');
    $ws->send_text('x');
    $ws->expect('text x', 'record: echo');
    $ws->disconnect;
    my $ok = wait_for(sub { $ngx->access_log; 1 }, 0.5);
    my $got;
    wait_for(sub {
        my $q = ws_connect(uri => '/py/record-last');
        $q->send_text('?');
        $got = $q->read_message->{payload};
        $q->send_close(1000);
        return defined $got && $got eq '1001';
    }, 5);
    is($got, '1001', 'a client that vanished leaves the upstream a 1001');
}

my $log = "$ngx->{prefix}/logs/proxied.log";
ok(wait_for(sub { Test::NgxWs::slurp($log) =~ m{/py/close4000 101 up=127\.0\.0\.1:$py in=0 out=1 code=4000 by=upstream} }, 5),
   'access log: $ws_upstream_* of an upstream close')
    or diag(Test::NgxWs::slurp($log));
ok(Test::NgxWs::slurp($log) =~ m{/py/echo 101 up=127\.0\.0\.1:$py in=2 out=2 code=4123 by=proxy},
   'access log: $ws_upstream_* of a client close')
    or diag(Test::NgxWs::slurp($log));

my $err = $ngx->error_log;
like($err, qr/\*\d+ ws proxy: upstream 127\.0\.0\.1:$bad broke the protocol: masked server frame.*connection \d+/,
     'error log: the upstream\'s violation, with the connection');
like($err, qr/ws proxy: upstream 127\.0\.0\.1:$bad lost: .*1014/,
     'error log: the upstream that vanished');
like($err, qr/ws proxy: upstream 127\.0\.0\.1:$bad sent a bad 101: wrong Sec-WebSocket-Accept/,
     'error log: why the 101 was refused');
like($err, qr/sent a bad 101: the subprotocol chosen was not offered/,
     'error log: the subprotocol nobody offered');

check_logs($ngx, undef, allow => qr/connect\(\) failed|upstream server temporarily disabled|ws proxy:/);

done_testing();
