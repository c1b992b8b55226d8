# The demo chat's moderation in headless Chromium (t/browser/
# chat_moderation.js, playwright-core): the page of conf_examples on the
# JSON protocol at /ws through ws_client.js, the demo backend of
# conf_examples behind an upstream{} with keepalive, the hooks as
# conf_examples/demo.conf sets them: the message hook filters the page's
# publishes.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::DemoBrowser;

my $port = test_port();
my $blog = repo_root() . '/t/servroot/055-backend.log';
my $demo = Test::NgxWs::DemoBrowser->start(port => $port + 1, log => $blog);

my $ngx = start_nginx(name => 'chat moderation', log_level => 'info',
    main_config => 'worker_processes 2;', listen_options => 'reuseport',
    http_config => $demo->upstream('chat'),
    config => <<'CONF' . $demo->locations(<<'EXTRA'));
    location = /ws {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
        ws_backend_connect /backend/connect;
        ws_backend_message /backend/ws/rpc;
        ws_backend_close   /backend/close;
    }
CONF
        proxy_set_header X-Original-URI $request_uri;
        proxy_set_header X-Real-IP $remote_addr;
EXTRA

# what is tested here is the demo's own /ws: the same three hooks
my ($demo_ws) = Test::NgxWs::slurp(repo_root() . "/conf_examples/demo.conf")
    =~ /(location = \/ws \{.*?\})/s;
for my $hook ('ws_backend_connect /backend/connect;',
              'ws_backend_message /backend/ws/rpc;',
              'ws_backend_close   /backend/close;') {
    like($demo_ws // '', qr/\Q$hook\E/, "demo.conf's /ws has $hook");
}

my ($rc, $out) = $demo->run_script('chat_moderation.js', $port);
diag($out) if $rc;
is($rc, 0, 'the chat page shows the moderation');
like($out, qr/tab one shows the refusal of its spam/, 'the refusal, to the sender');
like($out, qr/tab two never saw the spam/, 'and not to the room');
# a slow machine may take seconds to tear Chromium down: the bound is wide
ok(wait_for(sub { my @c = $demo->log_text =~ /^\S+ close \d+/mg; @c >= 2 }, 20),
   'the backend was told of both tabs closing')
    or diag("backend log:\n" . $demo->log_text
            . Test::NgxWs::log_excerpt("$ngx->{prefix}/logs/error.log"));
check_logs($ngx);

done_testing();
