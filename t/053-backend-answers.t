# What a message hook's answer does (docs/backends.md, "The message
# hook"): the hook is a filter in front of the location's echo or channel.
# 2xx with a body replaces the message, 304 keeps it, 204 or an empty 2xx
# drops it, 4xx refuses it (the body to the sender alone, or a 1008 close
# with ws_backend_message_refused close), 5xx fails (dropped, or a 1011
# close with ws_backend_message_failed close). WS-Subscribe,
# WS-Unsubscribe, WS-Publish, WS-Close and WS-Opcode act on a 2xx or 304.
# Against a Node http backend with keepalive (each message tells it how
# to answer) and against return locations; the demo backend is t/017's.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::MessageBackend;
use Test::NgxWs::HookConfig;

# t/096 runs these cases again through the direct client ("http://...").
our $message_hook;
$message_hook //= '/internal/node';

my $port = test_port();
my $nport = $port + 1;

Test::NgxWs::MessageBackend->start(port => $nport);

my $http = hooks_http_config(zone => 'answers', port => $nport);

my $hook = message_backend_location('/internal/node');

my $config = <<CONF;
    # a plain location: what goes on is echoed
    location /plain {
        ws_listen;
        ws_backend_message $message_hook;
    }
    # a channel location: what goes on is published to the room
    location ~ ^/room/(?<room>\\w+)\$ {
        ws_listen;
        ws_subscribe room:\$room;
        ws_publish room:\$room;
        ws_backend_message $message_hook;
    }
    location /refuse-close {
        ws_listen;
        ws_backend_message $message_hook;
        ws_backend_message_refused close;
    }
    location /fail-close {
        ws_listen;
        ws_backend_message $message_hook;
        ws_backend_message_failed close;
    }
    location ~ ^/listen/(?<ch>[\\w:]+)\$ {
        ws_listen;
        ws_subscribe \$ch;
    }
    location ~ ^/pub/(?<ch>[\\w:]+)\$ {
        ws_publisher \$ch;
    }
$hook
    location /keep-return {
        ws_listen;
        ws_backend_message /internal/keep;
    }
    location = /internal/keep { internal; return 304; }
    location /refuse-return {
        ws_listen;
        ws_backend_message /internal/refuse;
    }
    location = /internal/refuse { internal; return 403 "refused by return"; }
    location /refuse-page {
        ws_listen;
        ws_backend_message /internal/refuse-page;
    }
    location = /internal/refuse-page { internal; return 403; }
    location = /metrics { ws_status; }
CONF

my $ngx = start_nginx(name => 'message answers', log_level => 'info',
                      http_config => $http, config => $config);


# Nothing came before this: answers are applied in the order of the
# messages, so a message that passes after the others, and reaches the
# reader first, shows that they sent nothing (a ping would not: its pong
# does not wait for the backend).
sub nothing_before {
    my ($sender, $reader, $name, %headers) = @_;
    $sender->send_text(order(status => 200, body => 'sentinel', headers => {%headers}));
    $reader->expect('text sentinel', $name);
}

# For locations whose answers are all alike: once the calls are counted
# their answers were applied, and a pong then comes after what they sent.
sub nothing_after_calls {
    my ($ws, $class, $n, $name) = @_;
    ok(wait_for(sub { metrics($port) =~ /^ngx_ws_backend_calls_total\{hook="message",status="$class"\} $n$/m }, 5),
       "$name - $n calls answered $class");
    $ws->send_ping('after');
    $ws->expect('pong after', $name);
}

{
    my $name = '200 with a body replaces the message';
    my $ws = ws_connect(uri => '/plain');
    $ws->send_text(order(status => 200, body => 'replaced'));
    $ws->expect('text replaced', "$name - a plain location echoes the replacement");
    $ws->send_binary(order(status => 201, body => 'created'));
    $ws->expect('binary created', "$name - 201 too, with the message's opcode");
    $ws->send_text(order(status => 202, body => "\x01\x02",
                         headers => { 'WS-Opcode' => 'binary' }));
    $ws->expect('binary_hex 0102', "$name - WS-Opcode: binary changes the opcode");
    $ws->send_binary(order(status => 200, body => 'as text',
                           headers => { 'WS-Opcode' => 'text' }));
    $ws->expect('text as text', "$name - and WS-Opcode: text");

    my $alice = ws_connect(uri => '/room/r1');
    my $bob = ws_connect(uri => '/room/r1');
    $alice->send_text(order(status => 200, body => 'for the room'));
    $bob->expect('text for the room', "$name - a channel location publishes the replacement");
    $alice->expect('text for the room', "$name - the sender is in the room too");
    $_->disconnect for $ws, $alice, $bob;
}

{
    my $name = '304 keeps the message';
    my $ws = ws_connect(uri => '/plain');
    my $msg = order(status => 304);
    $ws->send_text($msg);
    $ws->expect("text $msg", "$name - echoed unchanged");
    my $alice = ws_connect(uri => '/room/r2');
    my $bob = ws_connect(uri => '/room/r2');
    $alice->send_text($msg);
    $bob->expect("text $msg", "$name - published unchanged");
    my $r = ws_connect(uri => '/keep-return');
    $r->send_binary("\x00\xff");
    $r->expect('binary_hex 00ff', "$name - from a return 304 location too");
    $_->disconnect for $ws, $alice, $bob, $r;
}

{
    my $name = '204 or an empty 200 drops the message';
    my $alice = ws_connect(uri => '/room/r3');
    my $bob = ws_connect(uri => '/room/r3');
    $alice->send_text(order(status => 204));
    $alice->send_text(order(status => 200));
    $alice->send_text(order(status => 200, body => 'after'));
    $bob->expect('text after', "$name - the room got only what came after");
    $alice->expect('text after', "$name - and so did the sender");
    $_->disconnect for $alice, $bob;
}

{
    my $name = '4xx refuses: the body to the sender alone';
    my $alice = ws_connect(uri => '/room/r4');
    my $bob = ws_connect(uri => '/room/r4');
    $alice->send_text(order(status => 403, body => "no, \x{e9}",
                            headers => { 'WS-Publish' => 'room:r4' }));
    $alice->expect("text no, \xc3\xa9", "$name - the sender gets the refusal as text");
    nothing_before($alice, $bob, "$name - the room sees nothing, WS-Publish of a refusal ignored");
    $alice->expect('text sentinel', "$name - the connection goes on", 1);
    $alice->send_binary(order(status => 429));
    nothing_before($alice, $alice, "$name - a refusal without a body sends nothing");

    my $r = ws_connect(uri => '/refuse-return');
    $r->send_text('x');
    $r->expect('text refused by return', "$name - a return 403 \"text\" location");
    my $p = ws_connect(uri => '/refuse-page');
    $p->send_text('x');
    # 4xx so far: two from Node, one from /refuse-return, this one
    nothing_after_calls($p, '4xx', 4, "$name - return 403 without text: NGINX's page is not sent");
    $_->disconnect for $alice, $bob, $r, $p;
}

{
    my $name = 'ws_backend_message_refused close';
    my $ws = ws_connect(uri => '/refuse-close');
    $ws->send_text(order(status => 200, body => 'fine'));
    $ws->expect('text fine', "$name - answers that pass still pass");
    # 70 two-byte characters: a reason holds 61 of them (122 bytes)
    $ws->send_text(order(status => 403, body => "\x{e9}" x 70));
    my $close = $ws->read_message(5);
    is($close && $close->{op}, 'close', "$name - a refusal closes");
    is($close && $close->{code}, 1008, "$name - with 1008");
    is($close && $close->{reason}, "\xc3\xa9" x 61,
       "$name - the reason is the body cut to 123 bytes at a character");
    $ws->disconnect;
}

{
    my $name = '5xx fails: dropped, the connection goes on';
    my $before = () = $ngx->error_log =~ /message hook "\Q$message_hook\E" failed/g;
    my $ws = ws_connect(uri => '/plain');
    $ws->send_text(order(status => 500, body => 'not for the client'));
    $ws->send_text(order(status => 503));
    nothing_before($ws, $ws, "$name - nothing sent, the next answer goes through");
    my $log = $ngx->error_log;
    my $after = () = $log =~ /message hook "\Q$message_hook\E" failed with 50\d/g;
    is($after - $before, 1, "$name - two failures, one line");
    like($log, qr/message hook "\Q$message_hook\E" answers again/, "$name - and one when it recovers");
    like(metrics($port), qr/^ngx_ws_backend_calls_total\{hook="message",status="5xx"\} 2$/m,
         "$name - counted in /metrics");
    $ws->disconnect;
}

{
    my $name = 'ws_backend_message_failed close';
    my $ws = ws_connect(uri => '/fail-close');
    $ws->send_text(order(status => 304));
    $ws->expect('text ' . order(status => 304), "$name - answers that pass still pass");
    $ws->send_text(order(status => 502));
    $ws->expect('close 1011', "$name - a failure closes with 1011");
    $ws->disconnect;
}

{
    my $name = 'WS-Subscribe and WS-Unsubscribe';
    my $ws = ws_connect(uri => '/plain');
    $ws->send_text(order(status => 204, headers => { 'WS-Subscribe' => 'news, alerts' }));
    nothing_before($ws, $ws, "$name - the message itself dropped");
    like(publish($port, 'news', 'n1')->{body}, qr/"subscribers":1/, "$name - one subscriber of news");
    $ws->expect('text n1', "$name - a plain location's connection joins a channel");
    publish($port, 'alerts', 'a1');
    $ws->expect('text a1', "$name - every channel of the list");
    $ws->send_text(order(status => 204, headers => { 'WS-Unsubscribe' => 'news' }));
    nothing_before($ws, $ws, "$name - the unsubscribing message dropped");
    publish($port, 'news', 'n2');
    publish($port, 'alerts', 'a2');
    $ws->expect('text a2', "$name - left news, kept alerts");
    $ws->disconnect;
}

{
    my $name = 'WS-Publish';
    my $side = ws_connect(uri => '/listen/side');
    my $more = ws_connect(uri => '/listen/more');
    my $alice = ws_connect(uri => '/room/r5');
    my $bob = ws_connect(uri => '/room/r5');
    my $msg = order(status => 304, headers => { 'WS-Publish' => ['side', 'more'] });
    $alice->send_text($msg);
    $side->expect("text $msg", "$name - the kept message to the named channel");
    $more->expect("text $msg", "$name - repeated headers are one list");
    $bob->expect("text $msg", "$name - and its usual way to the room");
    $alice->send_text(order(status => 200, body => 'swapped',
                            headers => { 'WS-Publish' => 'side' }));
    $side->expect('text swapped', "$name - a replacement is what is published");
    $alice->send_text(order(status => 204, headers => { 'WS-Publish' => 'side' }));
    nothing_before($alice, $side, "$name - a dropped message is published nowhere",
                   'WS-Publish' => 'side');
    $_->disconnect for $side, $more, $alice, $bob;
}

{
    my $name = 'WS-Close';
    my $ws = ws_connect(uri => '/plain');
    $ws->send_text(order(status => 200, body => 'last words', delay_ms => 300,
                         headers => { 'WS-Close' => '4001 see you' }));
    # answered before the close, applied right after it: nothing may
    # follow a close frame
    $ws->send_text(order(status => 200, body => 'too late'));
    $ws->expect('text last words', "$name - the message is handled first");
    my $close = $ws->read_message(5);
    is($close && $close->{code}, 4001, "$name - then the close code");
    is($close && $close->{reason}, 'see you', "$name - and its reason");
    $ws->send_close(4001);
    ok($ws->expect_eof("$name - nothing after the close frame", 1), "$name - no message after the close");
    $ws->disconnect;
}

{
    my $name = 'an answer that breaks the rules fails';
    my $ws = ws_connect(uri => '/plain');
    $ws->send_text(order(status => 200, body => 'x',
                         headers => { 'WS-Subscribe' => 'bad*name' }));
    $ws->send_text(order(status => 200, body => 'x',
                         headers => { 'WS-Close' => '1005' }));
    $ws->send_text(order(status => 200, body => 'x',
                         headers => { 'WS-Opcode' => 'utf8' }));
    $ws->send_text(order(status => 200, body => 'x',
                         headers => { 'WS-Subscribe' => 'conn:1' }));
    nothing_before($ws, $ws, "$name - nothing done, the connection goes on");
    like($ngx->error_log, qr/message hook "\Q$message_hook\E" answer refused: a WS-Subscribe, WS-Unsubscribe or WS-Publish channel name is invalid/,
         "$name - logged with the reason");
    like(metrics($port), qr/^ngx_ws_backend_calls_total\{hook="message",status="other"\} 4$/m,
         "$name - counted as other");
    $ws->disconnect;
}

check_logs($ngx);

my $config_dir = $message_hook =~ m{^http://} ? '096-config' : '053-config';

for my $case (
    ['ws_backend_message_refused drop;',
     qr/"ws_backend_message_refused" must be "reply" or "close", not "drop" in \S+nginx\.conf:\d+/],
    ['ws_backend_message_failed reply;',
     qr/"ws_backend_message_failed" must be "ignore" or "close", not "reply" in \S+nginx\.conf:\d+/],
) {
    my ($directives, $want) = @$case;
    my ($rc, $out) = nginx_check_config(dir => $config_dir,
                                        location => "ws_listen; $directives");
    isnt($rc, 0, "nginx -t refuses: $directives");
    like($out, $want, "nginx -t names the directive and the line: $directives");
}

for my $directives ('ws_backend_message_refused reply;', 'ws_backend_message_refused close;',
                    'ws_backend_message_failed ignore;', 'ws_backend_message_failed close;') {
    my ($rc, $out) = nginx_check_config(dir => $config_dir, location => "ws_listen; $directives");
    is($rc, 0, "nginx -t accepts: $directives") or diag($out);
}

done_testing();
