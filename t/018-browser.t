# The chat page of conf_examples in headless Chromium (Debian chromium,
# driven by playwright-core from npm): two tabs exchange messages through
# room:<room> of the JSON protocol (ws_client.js) on two workers.
use Test::NgxWs;
use Test::More;

my $root = repo_root();
my $node_path = $ENV{NGX_WS_NODE_PATH} // "$root/build/npm/node_modules";

my $ngx = start_nginx(name => 'chat page', log_level => 'info',
    main_config => 'worker_processes 2;', listen_options => 'reuseport',
    http_config => 'ws_zone chat 1m;', config => <<"CONF");
    location = /ws {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
    }
    location = /chat.html {
        root $root/conf_examples;
    }
    location = /ws_client.js {
        root $root/conf_examples;
    }
CONF

my $port = test_port();
my $out = run_bounded("NODE_PATH=$node_path node $root/t/browser/chat_two_tabs.js http://127.0.0.1:$port/chat.html");
my $rc = $? >> 8;
diag($out) if $rc;
is($rc, 0, 'two Chromium tabs chat through the page');
like($out, qr/tab one got the message of tab two/, 'both directions checked');
ok(wait_for(sub { my @closed = $ngx->error_log =~ /ws: connection closed/g; @closed >= 2 }, 5),
   'both browser sessions ended and were logged');
check_logs($ngx);

done_testing();
