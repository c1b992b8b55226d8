# The connect hook (ws_backend_connect): before the 101 an ordinary NGINX
# location is called with the handshake's headers and WS-Connection-Id;
# 2xx lets the client in, with the user, channels and per-connection meta
# the answer set; any other answer refuses it with that status. Backends:
# Python's http.server behind an upstream{} with keepalive
# (t/lib/ws_backend.py, which answers what the handshake asks it to), and
# `return` locations.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::Backend;
use JSON::PP qw(decode_json);
use IO::Socket::INET;
use Test::NgxWsJwt;
use Test::NgxWs::HookConfig;

my $port = test_port();
my $bport = $port + 1;     # the Python backend
my $dead = $port + 2;      # nothing listens there
my $servroot = repo_root() . '/t/servroot/050-backend-connect';

my $backend = Test::NgxWs::Backend->start(port => $bport);

# The requests the backend got, oldest first.
sub backend_requests { $backend->requests }

sub post {
    my ($uri, $body) = @_;
    return http_request(port => $port, raw =>
        "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body");
}

# a token the handshake verifies before the hook runs
my $secret = 'S' x 32;
mkdir $servroot . '-keys';
open my $kf, '>', "$servroot-keys/hs256.secret" or die $!;
print $kf "$secret\n";
close $kf;
my $token = jwt_token(alg => 'HS256', secret => $secret,
                      claims => json_obj(sub => 'bob', plan => 'gold',
                                         exp => time + 600));

my $http = hooks_http_config(zone => 'backend', port => $bport,
                             keepalive => 4) . <<CONF;
    log_format hook '\$request \$status user=\$ws_user';
CONF

my $config = <<CONF;
    location /ws {
        ws_listen;
        ws_echo on;
        ws_backend_connect /internal/connect;
    }
    location /small-meta {
        ws_listen;
        ws_backend_connect /internal/connect;
        ws_backend_meta_size 16;
    }
    location = /internal/connect {
        internal;
        proxy_pass http://hooks/connect;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Original-URI \$request_uri;
        proxy_read_timeout 1s;
    }
    location /ret-allow {
        ws_listen;
        ws_echo on;
        ws_backend_connect /internal/allow;
    }
    location = /internal/allow { internal; return 204; }
    location /ret-deny {
        ws_listen;
        ws_backend_connect /internal/deny;
    }
    location = /internal/deny { internal; return 403; }
    location /down {
        ws_listen;
        ws_backend_connect /internal/down;
    }
    location = /internal/down {
        internal;
        proxy_pass http://127.0.0.1:$dead;
    }
    location /jwt {
        ws_listen;
        ws_auth_jwt on;
        ws_auth_jwt_key HS256 $servroot-keys/hs256.secret;
        ws_auth_jwt_token arg=token;
        ws_backend_connect /internal/jwt-connect;
    }
    location = /internal/jwt-connect {
        internal;
        proxy_pass http://hooks/connect;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Token-User \$ws_user;
        proxy_set_header X-Token-Plan \$ws_jwt_claim_plan;
    }
    location /nohook { ws_listen; ws_echo on; }
    location ~ ^/pub/(?<room>[a-z]+)\$ { ws_publisher room:\$room; }
    location = /status { stub_status; }
CONF

my $ngx = start_nginx(name => 'connect hook', log_level => 'info',
                      http_config => $http, config => $config);

{
    my $name = 'a 2xx answer lets the client in';
    my $ws = ws_connect(uri => '/ws?a=1',
                        headers => "X-Tag: hello\nWS-User: mallory\n"
                                   . "WS-Meta-Role: admin\n");
    $ws->send_text('hi');
    $ws->expect('text hi', $name);
    my @req = backend_requests();
    is(scalar @req, 1, "$name - one call");
    my $h = $req[0]{headers};
    is($req[0]{method}, 'GET', "$name - a GET");
    is($req[0]{path}, '/connect', "$name - to the hook's location");
    is($h->{'x-tag'}[0], 'hello', "$name - the handshake's headers go along");
    ok($h->{'sec-websocket-key'}, "$name - Sec-WebSocket-Key too");
    is($h->{'x-original-uri'}[0], '/ws?a=1', "$name - \$request_uri is the handshake's");
    like($h->{'ws-connection-id'}[0] // '', qr/^\d+$/, "$name - WS-Connection-Id");
    ok(!$h->{'ws-user'} && !$h->{'ws-meta-role'},
       "$name - WS-* headers the client sent are not passed on");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
}

{
    my $name = 'the request is still freed after the 101';
    my $ws = ws_connect(uri => '/ws');
    my $res = http_request(port => $port, raw =>
        "GET /status HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    my ($writing) = $res->{body} =~ /Writing: (\d+)/;
    is($writing, 1, "$name - only the status request is writing");
    $ws->send_text('still');
    $ws->expect('text still', $name);
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
}

{
    my $name = 'the upstream connection is kept alive';
    $backend->forget;
    for (1 .. 3) {
        my $ws = ws_connect(uri => '/ws');
        $ws->send_close(1000);
        $ws->expect('close 1000', $name, 1);
    }
    my @req = backend_requests();
    is(scalar @req, 3, "$name - three calls");
    is($req[2]{port}, $req[0]{port}, "$name - over one TCP connection");
    is($req[2]{served_before}, $req[0]{served_before} + 2,
       "$name - the third call is that connection's third request since");
}

{
    my $name = '401 with WWW-Authenticate';
    my $res = ws_handshake_answer(uri => '/ws',
        headers => "X-Answer-Status: 401\n"
                   . "X-Answer-Header: WWW-Authenticate: Bearer realm=\"chat\"\n");
    is($res->{status}, 401, "$name - the client gets the backend's status");
    is($res->{header}{'www-authenticate'}, 'Bearer realm="chat"',
       "$name - and its WWW-Authenticate");
}

{
    my $name = '429 with Retry-After';
    my $res = ws_handshake_answer(uri => '/ws',
        headers => "X-Answer-Status: 429\nX-Answer-Header: Retry-After: 7\n"
                   . "X-Answer-Header: X-Secret: backend-only\n");
    is($res->{status}, 429, "$name - status");
    is($res->{header}{'retry-after'}, '7', "$name - Retry-After");
    ok(!exists $res->{header}{'x-secret'}, "$name - other headers stay behind");
}

{
    my $name = 'a redirect is not something a WebSocket client follows';
    my $res = ws_handshake_answer(uri => '/ws',
        headers => "X-Answer-Status: 302\nX-Answer-Header: Location: /x\n");
    is($res->{status}, 502, "$name - 502");
    ok(wait_for(sub { $ngx->error_log =~ /connect hook answered 302, neither 2xx nor an error: refusing with 502/ }, 3),
       "$name - logged");
}

{
    my $name = 'return locations';
    my $ws = ws_connect(uri => '/ret-allow');
    $ws->send_text('ok');
    $ws->expect('text ok', "$name - return 204 allows");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
    my $res = ws_handshake_answer(uri => '/ret-deny');
    is($res->{status}, 403, "$name - return 403 refuses with 403");
}

{
    my $name = 'backend down, backend slow';
    my $res = ws_handshake_answer(uri => '/down');
    is($res->{status}, 502, "$name - refused connection: 502");
    $res = ws_handshake_answer(uri => '/ws',
                      headers => "X-Answer-Delay: 3\n");
    is($res->{status}, 504, "$name - over proxy_read_timeout: 504");
}

{
    my $name = 'WS-Subscribe joins channels';
    my $ws = ws_connect(uri => '/nohook');   # no hook: joins nothing
    my $sub = ws_connect(uri => '/ws',
        headers => "X-Answer-Header: WS-Subscribe: room:blue, room:red\n");
    my $res = post('/pub/red', 'to red');
    is($res->{status}, 200, "$name - published");
    $sub->expect('text to red', "$name - the client receives room:red");
    post('/pub/blue', 'to blue');
    $sub->expect('text to blue', "$name - and room:blue");
    $sub->send_close(1000);
    $sub->expect('close 1000', $name, 1);
    $ws->send_text('echo');
    $ws->expect('text echo', "$name - a session without a hook got nothing else");
    $ws->send_close(1000);
}

{
    my $name = 'an answer that cannot be kept';
    my $res = ws_handshake_answer(uri => '/ws',
        headers => "X-Answer-Header: WS-Subscribe: ok, conn:12\n");
    is($res->{status}, 502, "$name - a direct channel: 502");
    ok(wait_for(sub { $ngx->error_log =~ /connect hook answer refused: WS-Subscribe names an invalid channel/ }, 3),
       "$name - logged");
    $res = ws_handshake_answer(uri => '/small-meta',
        headers => "X-Answer-Header: WS-Meta-A: 0123456789\n"
                   . "X-Answer-Header: WS-Meta-B: 0123456789\n");
    is($res->{status}, 502, "$name - meta over ws_backend_meta_size: 502");
    ok(wait_for(sub { $ngx->error_log =~ /connect hook answer refused: the WS-Meta-\* values are over ws_backend_meta_size/ }, 3),
       "$name - logged");
    $res = ws_handshake_answer(uri => '/small-meta',
        headers => "X-Answer-Header: WS-Meta-A: 0123456789\n");
    is($res->{status}, 101, "$name - meta within the size is kept");
}

{
    my $name = 'a verified token reaches the hook';
    $backend->forget;
    my $ws = ws_connect(uri => "/jwt?token=$token");
    my ($req) = backend_requests();
    is($req->{headers}{'x-token-user'}[0], 'bob', "$name - \$ws_user");
    is($req->{headers}{'x-token-plan'}[0], 'gold', "$name - \$ws_jwt_claim_plan");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
    $backend->forget;
    my $res = ws_handshake_answer(uri => '/jwt?token=bad');
    is($res->{status}, 401, "$name - a bad token is refused first");
    is(scalar(my @none = backend_requests()), 0, "$name - without calling the backend");
}

{
    my $name = 'an answer over subrequest_output_buffer_size';
    my $ws = Test::NgxWs::Client->new(port => $port);
    my $res = $ws->handshake("GET /ws HTTP/1.1\nX-Answer-Body-Size: 9000\n");
    is($res->{status}, 0, "$name - the connection is closed, no answer");
    ok(wait_for(sub { $ngx->error_log =~ /too big subrequest response: 9000/ }, 3),
       "$name - NGINX says why");
    my $ok = ws_connect(uri => '/ws');
    $ok->send_text('after');
    $ok->expect('text after', "$name - the next handshake works");
}

check_logs($ngx);

# ------------------------------------------------------------------ #
# nginx -t                                                             #
# ------------------------------------------------------------------ #

for my $case (
    ['ws_backend_connect internal/connect;',
     qr/"ws_backend_connect" needs the URI of a location, starting with "\/", or "off", not "internal\/connect"/],
    ['ws_backend_close @close;',
     qr/"ws_backend_close" needs the URI of a location/],
    ['ws_backend_connect /a; ws_backend_connect /b;',
     qr/"ws_backend_connect" directive is duplicate/],
    ['ws_backend_meta_size 65k;',
     qr/"ws_backend_meta_size" directive must be between 0 and 65536 in \S+nginx\.conf:\d+/],
) {
    my ($directives, $want) = @$case;
    my ($rc, $out) = nginx_check_config(dir => '050-config',
                                        location => "ws_listen; $directives");
    isnt($rc, 0, "nginx -t refuses: $directives");
    like($out, $want, "nginx -t names the directive: $directives");
}

{
    my ($rc, $out) = nginx_check_config(dir => '050-config',
        location => 'ws_listen; ws_backend_connect off; ws_backend_meta_size 64k;');
    is($rc, 0, 'nginx -t accepts off and 64k') or diag($out);
}

done_testing();
