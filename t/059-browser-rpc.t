# The JSON protocol's rpc from headless Chromium (t/browser/rpc_whoami.js,
# playwright-core): the /ws location as conf_examples/demo.conf sets it,
# its message hook to the demo backend of conf_examples behind an
# upstream{} with keepalive.
use Test::NgxWs;
use Test::More;

my $root = repo_root();
my $node_path = $ENV{NGX_WS_NODE_PATH} // "$root/build/npm/node_modules";
my $port = test_port();
my $bport = $port + 1;
my $blog = "$root/t/servroot/059-backend.log";

unlink $blog;
my $backend_pid = fork // die "fork: $!";
if ($backend_pid == 0) {
    open STDOUT, '>>', $blog or die $!;
    open STDERR, '>&', \*STDOUT or die $!;
    exec '/usr/bin/python3', "$root/conf_examples/demo_backend.py", '127.0.0.1', $bport;
    die "exec: $!";
}
END { if ($backend_pid) { local $?; kill 'TERM', $backend_pid; waitpid $backend_pid, 0 } }
ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$bport") }, 10),
   'the demo backend listens');

my $ngx = start_nginx(name => 'rpc in chromium', log_level => 'info',
    http_config => <<"HTTP", config => <<"CONF");
    ws_zone rpc 1m;
    upstream demo_backend {
        server 127.0.0.1:$bport;
        keepalive 8;
    }
HTTP
    location = /ws {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
        ws_backend_message /backend/ws/rpc;
    }
    location /backend/ {
        internal;
        proxy_pass http://demo_backend/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location = /chat.html {
        root $root/conf_examples;
    }
CONF

my $out = run_bounded("NODE_PATH=$node_path node $root/t/browser/rpc_whoami.js http://127.0.0.1:$port/chat.html");
my $rc = $? >> 8;
diag($out) if $rc;
is($rc, 0, 'the page gets its rpc answers');
like($out, qr/whoami answered in the page: connection \d+/, 'whoami, with the connection id');
like($out, qr/an unknown method is refused/, 'an unknown method, as an error');
check_logs($ngx);

done_testing();
