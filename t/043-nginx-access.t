# NGINX's own access control keeps working in front of ws_listen: allow /
# deny, auth_request (a subrequest decides the upgrade), limit_req,
# limit_conn (a WebSocket holds its connection slot for its whole life)
# and map.
use Test::NgxWs;

my $port = test_port();

{
    my $name = 'limit_conn holds the slot while the WebSocket lives';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        http_config => "limit_conn_zone \$binary_remote_addr zone=peraddr:1m;\n",
        config => <<'CONF');
    location /ws {
        limit_conn peraddr 2;
        ws_listen; ws_echo on;
    }
CONF
    my @open = map { ws_connect(uri => '/ws') } 1 .. 2;
    my $res = ws_handshake_answer(uri => '/ws');
    is($res->{status}, 503, "$name - a third concurrent upgrade gets 503");
    ok(wait_for(sub { $ngx->error_log =~ /limiting connections by zone "peraddr"/ }, 3),
       "$name - NGINX logs the limit");
    $open[0]->send_text('still here');
    $open[0]->expect('text still here', "$name - the open sessions are not disturbed");
    $open[0]->send_close(1000);
    $open[0]->expect('close 1000', $name);
    $open[0]->disconnect;
    my $again;
    ok(wait_for(sub { $again = eval { ws_connect(uri => '/ws') } }, 3),
       "$name - after one closes, a new upgrade fits");
    $_->disconnect for grep { $_ } $open[1], $again;
    check_logs($ngx);
}

{
    my $name = 'limit_req refuses upgrades over the rate';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        http_config => "limit_req_zone \$binary_remote_addr zone=rate:1m rate=1r/m;\n",
        config => <<'CONF');
    location /ws {
        limit_req zone=rate nodelay;
        ws_listen; ws_echo on;
    }
CONF
    my $first = ws_connect(uri => '/ws');
    my $res = ws_handshake_answer(uri => '/ws');
    is($res->{status}, 503, "$name - the second upgrade within a minute gets 503");
    ok(wait_for(sub { $ngx->error_log =~ /limiting requests, excess: .* by zone "rate"/ }, 3),
       "$name - NGINX logs the limit");
    $first->send_text('ok');
    $first->expect('text ok', "$name - the first session works");
    $first->disconnect;
    check_logs($ngx);
}

run_tests();
done_testing();

__DATA__

=== TEST 1: deny refuses the upgrade with 403
--- config
    location /ws {
        deny 127.0.0.1;
        ws_listen; ws_echo on;
    }
--- ws_handshake
--- error_code: 403
--- error_log
access forbidden by rule



=== TEST 2: allow lets the upgrade through
--- config
    location /ws {
        allow 127.0.0.1;
        deny all;
        ws_listen; ws_echo on;
    }
--- ws_send
text allowed
--- ws_expect
text allowed



=== TEST 3: auth_request: the backend says 204, the upgrade goes on
--- config
    location = /auth {
        internal;
        if ($http_x_token = "letmein") { return 204; }
        return 401;
    }
    location /ws {
        auth_request /auth;
        ws_listen; ws_echo on;
    }
--- ws_handshake
X-Token: letmein
--- ws_send
text authorized
--- ws_expect
text authorized



=== TEST 4: auth_request: the backend says 401, so does the handshake
--- config
    location = /auth {
        internal;
        if ($http_x_token = "letmein") { return 204; }
        return 401;
    }
    location /ws {
        auth_request /auth;
        ws_listen; ws_echo on;
    }
--- ws_handshake
X-Token: wrong
--- error_code: 401



=== TEST 5: auth_request: the backend says 403
--- config
    location = /auth {
        internal;
        return 403;
    }
    location /ws {
        auth_request /auth;
        ws_listen;
    }
--- ws_handshake
--- error_code: 403



=== TEST 6: auth_request to a proxied backend; its answer reaches the log
--- http_config
    log_format authlog 'user=$auth_user code=$ws_close_code';
    server {
        listen 127.0.0.1:$port2;
        location /check {
            if ($http_x_token != "letmein") { return 401; }
            add_header X-User alice always;
            return 204;
        }
    }
--- config
    location = /auth {
        internal;
        proxy_pass http://127.0.0.1:$port2/check;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header X-Token $http_x_token;
    }
    location /ws {
        auth_request /auth;
        auth_request_set $auth_user $upstream_http_x_user;
        access_log logs/access.log authlog;
        ws_listen; ws_echo on;
    }
--- ws_handshake
X-Token: letmein
--- ws_send
close 1000
--- ws_expect
close 1000
--- access_log
user=alice code=1000



=== TEST 7: map decides, in front of the upgrade
--- http_config
    map $arg_room $room_ok {
        default   0;
        ~^[a-z]+$ 1;
    }
--- config
    location /ws {
        if ($room_ok = 0) { return 404; }
        ws_listen; ws_echo on;
    }
--- ws_handshake
GET /ws?room=Bad1 HTTP/1.1
--- error_code: 404



=== TEST 8: map lets a good value through
--- http_config
    map $arg_room $room_ok {
        default   0;
        ~^[a-z]+$ 1;
    }
--- config
    location /ws {
        if ($room_ok = 0) { return 404; }
        ws_listen; ws_echo on;
    }
--- ws_handshake
GET /ws?room=lobby HTTP/1.1
--- ws_send
text in
--- ws_expect
text in
