# The guards against a real browser: headless Chromium (Debian chromium,
# driven by playwright-core) opens a guarded endpoint from a page of an
# allowed origin, with its token in Sec-WebSocket-Protocol, and from a page
# of another origin (cross-site WebSocket hijacking), which gets 403.
use Test::NgxWs;
use Test::NgxWsJwt;
use Test::More;
use File::Path qw(make_path);

my $root = repo_root();
my $node_path = $ENV{NGX_WS_NODE_PATH} // "$root/build/npm/node_modules";
my $port = test_port();
my $port2 = $port + 1;
my $dir = "$root/t/servroot/046-browser-keys";
make_path($dir);
my $secret = 'browser-test-secret-of-at-least-32-bytes';
open my $kf, '>', "$dir/hs.key" or die $!;
print $kf $secret;
close $kf;

my $ngx = start_nginx(name => 'browser security', log_level => 'info',
    http_config => <<"CONF", config => <<"CONF2");
    server {
        listen 127.0.0.1:\$port2;
        location = /page.html { default_type text/html; return 200 "<html><body>other site</body></html>"; }
    }
CONF
    location = /page.html { default_type text/html; return 200 "<html><body>our site</body></html>"; }
    location = /ws {
        ws_listen; ws_echo on;
        ws_allowed_origins http://127.0.0.1:$port;
        ws_subprotocols chat;
        ws_subprotocol_required on;
        ws_auth_jwt on;
        ws_auth_jwt_key HS256 $dir/hs.key;
        ws_auth_jwt_token protocol=bearer.;
    }
CONF2

my $token = jwt_token(alg => 'HS256', secret => $secret,
                      claims => json_obj(sub => 'browser', exp => time + 600));
my $out = run_bounded("NODE_PATH=$node_path node $root/t/browser/secure_ws.js http://127.0.0.1:$port/page.html http://127.0.0.1:$port2/page.html ws://127.0.0.1:$port/ws $token");
my $rc = $? >> 8;
diag($out) if $rc;
is($rc, 0, 'Chromium: the allowed page connects with its token, the other page does not');
like($out, qr/"protocol":"chat"/, 'the browser got "chat" as the protocol, not the token entry');
ok(wait_for(sub { $ngx->error_log =~ /ws: origin "http:\/\/127\.0\.0\.1:$port2" is not in ws_allowed_origins/ }, 5),
   'the other origin was refused and logged');
check_logs($ngx);

done_testing();
