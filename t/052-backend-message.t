# The message hook (ws_backend_message): each client data message is
# POSTed to an ordinary NGINX location; 200 with a body replaces it (in a
# location that neither echoes nor publishes, the sender gets it), 204 (or
# an empty 200) drops the message, a 4xx without a body refuses it
# silently; every call is counted. t/053 has every kind of answer. Answers are applied in the order of the messages, with
# at most ws_backend_message_inflight calls at a time; past that the
# client is not read.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::Backend;
use Test::NgxWs::HookConfig;
use JSON::PP qw(decode_json);
use Time::HiRes qw(time sleep);

my $port = test_port();
my $bport = $port + 1;

my $backend = Test::NgxWs::Backend->start(port => $bport);

sub backend_requests { $backend->requests }

my $http = hooks_http_config(zone => 'backend', port => $bport);

my $proxy = <<'CONF';
        proxy_http_version 1.1;
        proxy_set_header Connection "";
CONF

my $config = <<CONF;
    location /echo {
        ws_listen;
        ws_backend_connect /internal/connect;
        ws_backend_message /internal/echo;
        ws_backend_message_inflight 8;
    }
    location = /internal/connect {
        internal;
        proxy_pass http://hooks/connect;
$proxy
    }
    location = /internal/echo {
        internal;
        proxy_pass http://hooks/message;
$proxy
        proxy_set_header X-Answer-Echo "re:";
        proxy_set_header X-Answer-Delay-Max 0.005;
    }
    location /pong {
        ws_listen;
        ws_backend_message /internal/pong;
    }
    location = /internal/pong { internal; return 200 "pong"; }
    # text messages are dropped (204), binary ones kept (304): a kept
    # binary message after a dropped text one is the fence that shows the
    # text one went nowhere (answers are applied in the order sent)
    location /drop {
        ws_listen;
        ws_echo on;
        ws_publish dropped;
        ws_backend_message /internal/drop;
    }
    location /drop-listen {
        ws_listen;
        ws_subscribe dropped;
    }
    location = /internal/drop {
        internal;
        if (\$http_ws_opcode = binary) {
            return 304;
        }
        return 204;
    }
    location /refuse {
        ws_listen;
        ws_backend_message /internal/refuse;
    }
    location = /internal/refuse { internal; return 403; }
    location /slow {
        ws_listen;
        ws_backend_message /internal/slow;
        ws_backend_message_inflight 2;
    }
    location = /internal/slow {
        internal;
        proxy_pass http://hooks/message;
$proxy
        proxy_set_header X-Answer-Echo "slow:";
        proxy_set_header X-Answer-Delay 0.3;
    }
    location = /metrics { ws_status; }
CONF

my $ngx = start_nginx(name => 'message hook', log_level => 'info',
                      http_config => $http, config => $config);

{
    my $name = 'a return location answers every message';
    my $ws = ws_connect(uri => '/pong');
    $ws->send_text('ping 1');
    $ws->expect('text pong', $name);
    $ws->send_binary("\x00\x01");
    $ws->expect('binary pong', "$name - with the message's opcode");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
}

{
    my $name = '204 drops the message';
    my $listener = ws_connect(uri => '/drop-listen');
    my $ws = ws_connect(uri => '/drop');
    $ws->send_text('dropped');
    $ws->send_binary('fence');
    $listener->expect('binary_hex ' . unpack('H*', 'fence'),
                      "$name - the channel's subscriber gets the kept message alone");
    $ws->expect('binary_hex ' . unpack('H*', 'fence'),
                "$name - the sender, echoing, too: nothing came before it");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    $listener->disconnect;
}

{
    my $name = 'a refusal drops it too and is counted';
    my $ws = ws_connect(uri => '/refuse');
    $ws->send_text('no');
    $ws->send_ping('p');
    $ws->expect('pong p', $name);
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
    my $m = http_request(port => $port, raw =>
        "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")->{body};
    like($m, qr/^ngx_ws_backend_calls_total\{hook="message",status="4xx"\} 1$/m,
         "$name - in /metrics");
    like($m, qr/^ngx_ws_backend_calls_total\{hook="message",status="2xx"\} 3$/m,
         "$name - and the answered ones (204 included)");
}

{
    my $name = 'the backend sees the message and the identity';
    $backend->forget;
    my $ws = ws_connect(uri => '/echo',
        headers => "X-Answer-Header: WS-User: carol\n"
                   . "X-Answer-Header: WS-Meta-Room: blue\n");
    $ws->send_text("h\xc3\xa9llo");
    $ws->expect("text re:h\xc3\xa9llo", $name);
    my ($connect, $msg) = backend_requests();
    is($msg->{method}, 'POST', "$name - a POST");
    is($msg->{body}, "h\x{e9}llo", "$name - of the message");
    is($msg->{headers}{'ws-opcode'}[0], 'text', "$name - WS-Opcode");
    is($msg->{headers}{'content-type'}[0], 'text/plain; charset=utf-8',
       "$name - Content-Type");
    is($msg->{headers}{'ws-connection-id'}[0],
       $connect->{headers}{'ws-connection-id'}[0], "$name - WS-Connection-Id");
    is($msg->{headers}{'ws-user'}[0], 'carol', "$name - WS-User");
    is($msg->{headers}{'ws-meta-room'}[0], 'blue', "$name - WS-Meta-Room");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
}

{
    my $name = '1000 messages, 8 in flight, answers in order';
    my $ws = ws_connect(uri => '/echo');
    my $n = 1000;
    my $sender = 0;
    my @got;
    # send ahead of the answers, as a real client does
    $ws->send_text("m$_") for 1 .. 50;
    $sender = 50;
    while (@got < $n) {
        my $m = $ws->read_message(10) or last;
        push @got, $m->{payload};
        if ($sender < $n) { $sender++; $ws->send_text("m$sender") }
    }
    is(scalar @got, $n, "$name - every message answered");
    my @bad = grep { $got[$_] ne 're:m' . ($_ + 1) } 0 .. $#got;
    is(scalar @bad, 0, "$name - in order")
        or diag("first out of place: $got[$bad[0]] at $bad[0]");
    my %ports = map { $_->{port} => 1 } grep { $_->{path} eq '/message' } backend_requests();
    ok(keys %ports > 1, "$name - over several upstream connections at once ("
                        . scalar(keys %ports) . ')');
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
}

{
    my $name = 'a slow backend stops the reads';
    $backend->forget;
    my $ws = ws_connect(uri => '/slow');
    my $t0 = time;
    $ws->send_text("s$_") for 1 .. 20;
    sleep 0.2;
    my @first = grep { $_->{path} eq '/message' } backend_requests();
    ok(@first <= 2, "$name - two calls at a time (" . scalar(@first) . ' seen)');
    my @got;
    while (@got < 20) {
        my $m = $ws->read_message(10) or last;
        push @got, $m->{payload};
    }
    is_deeply(\@got, [map { "slow:s$_" } 1 .. 20], "$name - every answer, in order");
    my $took = time - $t0;
    ok($took >= 2.9, "$name - 20 answers of 0.3 s two at a time took ${took}s");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
}

{
    my $name = 'the client leaves with calls in flight';
    my $ws = ws_connect(uri => '/slow');
    $ws->send_text("x$_") for 1 .. 5;
    $ws->disconnect;
    sleep 1;
    my $ok = ws_connect(uri => '/pong');
    $ok->send_text('still');
    $ok->expect('text pong', "$name - the worker goes on");
    $ok->send_close(1000);
    $ok->expect('close 1000', $name, 1);
}

check_logs($ngx);

for my $case (
    ['ws_backend_message x;', qr/"ws_backend_message" needs the URI of a location/],
    ['ws_backend_message_inflight 0;', qr/"ws_backend_message_inflight" directive must be between 1 and 64 in \S+nginx\.conf:\d+/],
    ['ws_backend_message_inflight 65;', qr/"ws_backend_message_inflight" directive must be between 1 and 64 in \S+nginx\.conf:\d+/],
) {
    my ($directives, $want) = @$case;
    my ($rc, $out) = nginx_check_config(dir => '052-config',
                                        location => "ws_listen; $directives");
    isnt($rc, 0, "nginx -t refuses: $directives");
    like($out, $want, "nginx -t names the directive: $directives");
}

done_testing();
