# The reconnecting client of the demo (conf_examples/ws_client.js, used by
# chat.html) in headless Chromium, with its server reloaded, its worker
# killed, and stopped and started under it (t/browser/reconnect.js): it
# comes back by itself with backoff, and every message published while it
# was away arrives once, in order.
use Test::NgxWs;
use Test::More;

my $root = repo_root();
my $node_path = $ENV{NGX_WS_NODE_PATH} // "$root/build/npm/node_modules";
plan(skip_all => "playwright-core not found in $node_path")
    unless -d "$node_path/playwright-core";
my $port = test_port();

my $ngx = start_nginx(name => 'reconnect', log_level => 'info',
    http_config => "ws_zone chat 1m;\n    ws_channel_history 100 5m;",
    config => <<"CONF");
    location = /ws {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
    }
    location ~ "^/pub/(?<room>[a-z]+)\$" { ws_publisher room:\$room; }
    location = /chat.html { root $root/conf_examples; }
    location = /ws_client.js { root $root/conf_examples; }
    location = /busy {
        add_header Retry-After 2 always;
        return 503;
    }
CONF

my $prefix = $ngx->{prefix};
my $bin = nginx_bin();
my $nginx = "$bin -p $prefix/ -c conf/nginx.conf";
my $master = $ngx->{pid};
my %cmd = (
    reload => "$nginx -s reload",
    kill   => "kill -KILL \$(pgrep -P \$(cat $prefix/logs/nginx.pid))",
    stop   => "$nginx -s quit; for i in \$(seq 100); do [ -e $prefix/logs/nginx.pid ] || break; sleep 0.1; done",
    start  => $nginx,
);

my $out = run_bounded("NODE_PATH=$node_path node $root/t/browser/reconnect.js "
    . "http://127.0.0.1:$port/chat.html http://127.0.0.1:$port/pub/lobby "
    . "ws://127.0.0.1:$port/busy "
    . join(' ', map { "'$cmd{$_}'" } qw(reload kill stop start)), timeout => 90);
my $rc = $? >> 8;
diag($out) if $rc;
is($rc, 0, 'Chromium: the page came back after a reload, a killed worker and a restart');
like($out, qr/ok: every message once, in order: m1 m2 m3 m4 m5 m6 m7 m8 m9 m10/,
     'every message published while it was away arrived once, in order');
like($out, qr/ok: m4-m6 were all published before the page was back/, 'the reload case resumed');
like($out, qr/ok: refused: waited for Retry-After/, 'Retry-After honoured');
note($out);

# the NGINX started by the test's start command is the one to check now
my $now = $ngx->master_pid;
isnt($now, $master, 'the server was restarted under the page');
$ngx->{pid} = $now;
Test::NgxWs::Isolation::track($now) if defined &Test::NgxWs::Isolation::track;
check_logs($ngx, undef, allow => qr/exited on signal 9/);

done_testing();
