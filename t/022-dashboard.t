# The dashboard page of conf_examples (served by NGINX, reading ws_status
# JSON every second) in headless Chromium (Debian chromium, driven by
# playwright-core from npm): no console errors, figures follow clients
# opened by a second tab, the "try it" panel echoes, a screenshot is kept
# at t/servroot/022-dashboard/dashboard.png.
use Test::NgxWs;
use Test::More;

my $root = repo_root();
my $node_path = $ENV{NGX_WS_NODE_PATH} // "$root/build/npm/node_modules";

my $ngx = start_nginx(name => 'dashboard', log_level => 'info',
    main_config => 'worker_processes 2;', listen_options => 'reuseport',
    http_config => 'ws_zone dashboard 1m;', config => <<"CONF");
    location = /echo {
        ws_listen;
        ws_echo on;
    }
    location ~ "^/chat/(?<room>[A-Za-z0-9_-]{1,64})\$" {
        ws_listen;
        ws_subscribe room:\$room;
        ws_publish room:\$room;
    }
    location = /metrics {
        ws_status;
    }
    location = / {
        root $root/conf_examples;
        try_files /dashboard.html =404;
    }
CONF

my $port = test_port();
my $shot = "$ngx->{prefix}/dashboard.png";
my $out = run_bounded("NODE_PATH=$node_path node $root/t/browser/dashboard.js http://127.0.0.1:$port/ $shot");
my $rc = $? >> 8;
diag($out) if $rc;
is($rc, 0, 'the dashboard works in Chromium');
like($out, qr/three chat clients: #connections = 3/, 'it counted the clients of the other tab');
like($out, qr/closes by code: 1000 by client/, 'and the close of the try-it socket');
like($out, qr/no console errors/, 'without console errors');
ok(-s $shot, "screenshot saved: $shot");
check_logs($ngx);

done_testing();
