# The demo of `make run` (conf_examples/demo.conf) passes `nginx -t` and
# serves what the README's quick start promises: echo over ws and wss, chat rooms, the
# JSON protocol, the publish API and the chat's moderation by the demo
# backend (conf_examples/demo_backend.py, behind an upstream{}). Run on the
# test ports instead of 8080/8443/8092, from a prefix laid out as
# `make run` lays out build/demo.
use Test::NgxWs;
use Test::More;
use File::Path qw(make_path remove_tree);
use JSON::PP;

my $root = repo_root();
# make as a user types it: not the settings of a make this test runs under
# (make test), which would add "Entering directory" lines and job flags
my $make = "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C $root";
my $prefix = "$root/t/servroot/017-demo";
my $port = test_port();
my $tls_port = $port + 1;
my $backend_port = $port + 2;

remove_tree($prefix);
make_path("$prefix/conf/certs", "$prefix/logs", "$prefix/modules", "$prefix/temp",
          "$prefix/html");
system('cp', "$root/conf_examples/chat.html", "$root/conf_examples/dashboard.html",
       "$root/conf_examples/ws_client.js", "$prefix/html/") == 0 or die 'cp failed';
system('cp', "$root/conf_examples/demo-jwt.key", "$prefix/conf/") == 0 or die 'cp failed';
symlink(module_path(), "$prefix/modules/ngx_http_ws_module.so") or die $!;
system("openssl req -x509 -nodes -newkey rsa:2048 -days 1 -subj /CN=127.0.0.1 "
       . "-keyout $prefix/conf/certs/demo.key -out $prefix/conf/certs/demo.crt "
       . "2>/dev/null") == 0 or die "openssl failed";

my $conf = do { local (@ARGV, $/) = "$root/conf_examples/demo.conf"; <> };
like($conf, qr/listen 127\.0\.0\.1:8080;/, 'the demo listens on 8080');
like($conf, qr/listen 127\.0\.0\.1:8443 ssl;/, 'and on 8443 with TLS');
$conf =~ s/127\.0\.0\.1:8080/127.0.0.1:$port/g;
$conf =~ s/127\.0\.0\.1:8443/127.0.0.1:$tls_port/g;
like($conf, qr/server 127\.0\.0\.1:8092;/, 'the demo backend is on 8092');
$conf =~ s/127\.0\.0\.1:8092/127.0.0.1:$backend_port/g;
$conf =~ s/^daemon off;/daemon on;/m;
open my $fh, '>', "$prefix/conf/nginx.conf" or die $!;
print $fh $conf;
close $fh;

my $bin = nginx_bin();
my $out = `$bin -t -p $prefix/ -c conf/nginx.conf 2>&1`;
is($? >> 8, 0, 'nginx -t accepts the demo configuration') or diag($out);

# the backend as make run starts it, its lines in logs/backend.log
my $backend_log = "$prefix/logs/backend.log";
ok(start_demo_backend($backend_port, $backend_log), 'the demo backend listens');

system($bin, '-p', "$prefix/", '-c', 'conf/nginx.conf') == 0 or BAIL_OUT('the demo did not start');
wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") }, 5);

my $offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\n";
my $ws = ws_connect(port => $port, uri => '/echo', headers => $offer);
is($ws->{response}{header}{'sec-websocket-extensions'}, 'permessage-deflate',
   'ws:// echo agrees to permessage-deflate');
$ws->send_text('hello');
$ws->expect('text hello', 'ws:// echo');
$ws->send_close(1000);
$ws->expect('close 1000', 'ws:// echo closes');

my $wss = ws_connect(port => $tls_port, uri => '/echo', tls => 1, headers => $offer);
is($wss->{response}{header}{'sec-websocket-extensions'}, 'permessage-deflate',
   'wss:// echo agrees to permessage-deflate');
$wss->send_binary("\x00\xff");
$wss->expect('binary_hex 00ff', 'wss:// echo');
$wss->send_close(1000);
$wss->expect('close 1000', 'wss:// echo closes');

my $alice = ws_connect(port => $port, uri => '/chat/lobby');
my $bob = ws_connect(port => $port, uri => '/chat/lobby');
my $json = ws_connect(port => $port, uri => '/ws');
$json->send_text('{"op":"subscribe","channel":"room:lobby","id":1}');
$json->expect('text {"op":"ack","id":1}', '/ws subscribes to a room');
$alice->send_text('hi bob');
$bob->expect('text hi bob', '/chat/<room> delivers to the room');
$json->expect('text {"op":"message","channel":"room:lobby","seq":1,"data":"hi bob"}',
              '/ws gets the room in the envelope');
my $res = http_request(port => $port, raw =>
    "POST /pub/lobby HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    . "Content-Length: 4\r\n\r\nnews");
like($res->{body}, qr/"seq":2,"subscribers":3/, '/pub/<room> publishes');
$alice->expect('text hi bob', 'the sender is in the room too');
$alice->expect('text news', 'and gets the publish');
$json->expect('text {"op":"message","channel":"room:lobby","seq":2,"data":"news"}',
              '/ws gets the publish too');
$json->send_text('{"op":"subscribe","channel":"admin","id":2}');
$json->expect('text {"op":"error","id":2,"code":"forbidden","message":"channel not allowed"}',
              '/ws allows rooms only');

# The JSON protocol's rpc, answered by the demo backend through the message hook
$json->send_text('{"op":"rpc","method":"whoami","id":7}');
my $whoami = $json->read_message(5);
my $me = eval { JSON::PP::decode_json($whoami->{payload}) } || {};
is($me->{op}, 'ack', 'rpc whoami is acknowledged');
is($me->{id}, 7, 'with the request id');
like($me->{data}{connection_id} // '', qr/^\d+$/, 'carrying the caller\'s connection id');
ok(exists $me->{data}{user} && !defined $me->{data}{user}, 'and its user: none signed in');
my $other = ws_connect(port => $port, uri => '/ws');
$other->send_text('{"op":"rpc","method":"whoami","id":"x"}');
my $them = eval { JSON::PP::decode_json($other->read_message(5)->{payload}) } || {};
ok(($them->{data}{connection_id} // '') ne $me->{data}{connection_id},
   'another connection gets its own id');
$other->send_text('{"op":"rpc","method":"nope","id":8}');
is_deeply(eval { JSON::PP::decode_json($other->read_message(5)->{payload}) },
          {op => 'error', id => 8, code => 'rejected', status => 404,
           message => "no method 'nope' here"},
          'an unknown method is the backend\'s 404, as an error');
$other->send_close(1000);
$other->expect('close 1000', 'the second /ws client closes', 1);

$res = http_request(port => $port, raw => "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
is($res->{status}, 200, 'the index answers');
like($res->{body}, qr{<title>ngx_ws dashboard</title>}, 'with the dashboard');
$res = http_request(port => $port, raw => "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
like($res->{body}, qr/^ngx_ws_connections\{server="localhost",location="\/ws"\} 1$/m,
     '/metrics: Prometheus text, the JSON client still open');
like($res->{body}, qr/^ngx_ws_publishes_total\{kind="channel",result="ok"\} 2$/m,
     '/metrics: the two publishes');
$res = http_request(port => $port, raw => "GET /metrics?format=json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
like($res->{body}, qr/"channels":\{"count":1,"subscribers":3,"top":\[\{"channel":"room:lobby"/,
     '/metrics?format=json: the room is the top channel');
$res = http_request(port => $port, raw => "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
is($res->{status}, 200, '/healthz: live');
$res = http_request(port => $port, raw => "GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
is($res->{status}, 200, '/readyz: ready');
like($res->{body}, qr/"connections":\{"ok":true,"open":3,"max":3500\}/, '/readyz: with detail');
$res = http_request(port => $port, raw => "GET /chat.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
is($res->{status}, 200, 'the chat page is served');
like($res->{body}, qr{new NgxWsClient\(`\$\{scheme\}//\$\{location.host\}/ws`}, 'and it is the chat page');
$res = http_request(port => $port, raw => "GET /ws_client.js HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
is($res->{status}, 200, 'its reconnecting client is served');
like($res->{body}, qr/class NgxWsClient/, 'and it is the client');

# moderation by the demo backend: spam is refused to the sender alone,
# "/me" is rewritten, the rest passes; the backend logs connects and closes
{
    my $carol = ws_connect(port => $port, uri => '/chat/mod');
    my $dave = ws_connect(port => $port, uri => '/chat/mod');
    $carol->send_text('cheap SPAM here');
    $carol->expect('text not sent: this room does not take spam',
                   'spam: the sender alone gets the refusal');
    $carol->send_text('/me waves');
    my $action = $dave->read_message(5);
    like($action && $action->{payload}, qr/^\* (\d+) waves$/, '"/me waves" reaches the room rewritten');
    my ($id) = ($action && $action->{payload}) =~ /^\* (\d+)/;
    $carol->expect("text * $id waves", 'the sender too');
    $carol->send_text('no spammers, please');
    $dave->expect('text no spammers, please',
                  'other messages pass unchanged (and the room never saw the spam)');
    $carol->expect('text no spammers, please', 'the sender is in the room too', 1);
    $carol->send_close(1000);
    $carol->expect('close 1000', 'the moderated client closes', 1);
    my $lines = '';
    wait_for(sub { $lines = Test::NgxWs::slurp($backend_log); $lines =~ /close $id code=1000/ }, 5);
    like($lines, qr{connect $id /chat/mod from 127\.0\.0\.1}, 'the backend logs the connect');
    like($lines, qr{close $id code=1000 closed_by=client}, 'and the close');
    $dave->disconnect;
}

# /secure/echo, with a token minted by the openssl recipe of docs/security.md
eval {
    my $doc = do { local (@ARGV, $/) = "$root/docs/security.md"; <> };
    my ($recipe) = $doc =~ /```sh\n(b64url\(\).*?)```/s;
    ok($recipe, 'docs/security.md has the token recipe');
    my $token = do {
        open my $sh, '-|', 'bash', '-c', "cd '$root' && $recipe" or die $!;
        local $/;
        <$sh>;
    } // '';
    chomp $token;
    like($token, qr/^[\w-]+\.[\w-]+\.[\w-]+$/, 'the recipe mints a token');
    my $sec = ws_connect(port => $port, uri => "/secure/echo?token=$token",
                         headers => "Origin: http://localhost:8080\n");
    $sec->send_text('signed in');
    $sec->expect('text signed in', '/secure/echo with the token in ?token=');
    $sec->send_close(1000);
    $sec->expect('close 1000', '/secure/echo closes');
    $sec = ws_connect(port => $port, uri => '/secure/echo',
                      headers => "Authorization: Bearer $token\n");
    $sec->send_text('bearer');
    $sec->expect('text bearer', '/secure/echo with the token in Authorization');
    $sec->disconnect;
    is(ws_handshake_answer(port => $port, uri => '/secure/echo')->{status}, 401,
       '/secure/echo without a token: 401');
    is(ws_handshake_answer(port => $port, uri => "/secure/echo?token=$token",
                           headers => "Origin: http://evil.example\n")->{status}, 403,
       '/secure/echo from another origin: 403');
    my $out = `$make check-endpoint URL=ws://127.0.0.1:$port/secure/echo CHECK_OPTIONS='--token $token' 2>&1`;
    is($? >> 8, 0, 'make check-endpoint with the token passes on /secure/echo') or diag($out);

    # ws_ban 20 1m 1m: 20 sessions closed for a protocol error (an
    # unmasked frame, 1002) from this address, then 429 for a minute
    my $closed = 0;
    for (1 .. 20) {
        my $bad = ws_connect(port => $port, uri => "/secure/echo?token=$token");
        $bad->send_raw(Test::NgxWs::Client::encode_frame(op => 1, mask => 0,
                                                         payload => 'unmasked'));
        my $msg = $bad->read_message;
        $closed++ if $msg && $msg->{op} eq 'close' && $msg->{code} == 1002;
        $bad->disconnect;
    }
    is($closed, 20, '/secure/echo: 20 sessions closed with 1002');
    my $banned = ws_handshake_answer(port => $port, uri => "/secure/echo?token=$token");
    is($banned->{status}, 429, '/secure/echo: then this address is refused with 429');
    cmp_ok($banned->{header}{'retry-after'} // 0, '>', 55, '... for a minute (Retry-After)');
    is(ws_handshake_answer(port => $port, uri => '/echo')->{status}, 101,
       'other locations still let it in');
    1;
} or fail("/secure/echo: $@");

# the synthetic check of the README passes on the demo's endpoints
for my $path ('/echo', '/chat/lobby', '/ws') {
    my $out = `$make check-endpoint URL=ws://127.0.0.1:$port$path 2>&1`;
    is($? >> 8, 0, "make check-endpoint URL=ws://127.0.0.1:<port>$path passes") or diag($out);
}

system("$bin -p $prefix/ -c conf/nginx.conf -s quit 2>/dev/null");
ok(wait_for(sub { !-e "$prefix/logs/nginx.pid" }, 10), 'the demo stops on quit');
Test::NgxWs::save_sanitizer_reports({ prefix => $prefix, name => 'demo' },
                                     'demo');
my @bad = Test::NgxWs::bad_log_lines(Test::NgxWs::slurp("$prefix/logs/error.log"));
ok(!@bad, 'the error log is clean') or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

done_testing();
