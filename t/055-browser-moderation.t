# The demo chat's moderation in headless Chromium (t/browser/
# chat_moderation.js, playwright-core): the page of conf_examples on the
# JSON protocol at /ws through ws_client.js, the demo backend of
# conf_examples behind an upstream{} with keepalive, the hooks as
# conf_examples/demo.conf sets them: the message hook filters the page's
# publishes.
use Test::NgxWs;
use Test::More;

my $root = repo_root();
my $node_path = $ENV{NGX_WS_NODE_PATH} // "$root/build/npm/node_modules";
my $port = test_port();
my $bport = $port + 1;
my $blog = "$root/t/servroot/055-backend.log";

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

my $ngx = start_nginx(name => 'chat moderation', log_level => 'info',
    main_config => 'worker_processes 2;', listen_options => 'reuseport',
    http_config => <<"HTTP", config => <<"CONF");
    ws_zone chat 1m;
    upstream demo_backend {
        server 127.0.0.1:$bport;
        keepalive 8;
    }
HTTP
    location = /ws {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
        ws_backend_connect /backend/connect;
        ws_backend_message /backend/ws/rpc;
        ws_backend_close   /backend/close;
    }
    location /backend/ {
        internal;
        proxy_pass http://demo_backend/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Original-URI \$request_uri;
        proxy_set_header X-Real-IP \$remote_addr;
    }
    location = /chat.html {
        root $root/conf_examples;
    }
    location = /ws_client.js {
        root $root/conf_examples;
    }
CONF

# what is tested here is the demo's own /ws: the same three hooks
my ($demo_ws) = Test::NgxWs::slurp("$root/conf_examples/demo.conf")
    =~ /(location = \/ws \{.*?\})/s;
for my $hook ('ws_backend_connect /backend/connect;',
              'ws_backend_message /backend/ws/rpc;',
              'ws_backend_close   /backend/close;') {
    like($demo_ws // '', qr/\Q$hook\E/, "demo.conf's /ws has $hook");
}

my $out = run_bounded("NODE_PATH=$node_path node $root/t/browser/chat_moderation.js http://127.0.0.1:$port/chat.html");
my $rc = $? >> 8;
diag($out) if $rc;
is($rc, 0, 'the chat page shows the moderation');
like($out, qr/tab one shows the refusal of its spam/, 'the refusal, to the sender');
like($out, qr/tab two never saw the spam/, 'and not to the room');
# a slow machine may take seconds to tear Chromium down: the bound is wide
ok(wait_for(sub { my @c = Test::NgxWs::slurp($blog) =~ /^\S+ close \d+/mg; @c >= 2 }, 20),
   'the backend was told of both tabs closing')
    or diag("backend log:\n" . Test::NgxWs::slurp($blog)
            . Test::NgxWs::log_excerpt("$ngx->{prefix}/logs/error.log"));
check_logs($ngx);

done_testing();
