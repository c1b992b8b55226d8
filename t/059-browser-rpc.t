# The JSON protocol's rpc from headless Chromium (t/browser/rpc_whoami.js,
# playwright-core): the /ws location as conf_examples/demo.conf sets it,
# its message hook to the demo backend of conf_examples behind an
# upstream{} with keepalive.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::DemoBrowser;

my $port = test_port();
my $blog = repo_root() . '/t/servroot/059-backend.log';
my $demo = Test::NgxWs::DemoBrowser->start(port => $port + 1, log => $blog);

my $ngx = start_nginx(name => 'rpc in chromium', log_level => 'info',
    http_config => $demo->upstream('rpc'),
    config => <<'CONF' . $demo->locations);
    location = /ws {
        ws_listen;
        ws_protocol json;
        ws_channels_allow room:*;
        ws_backend_message /backend/ws/rpc;
    }
CONF

my ($rc, $out) = $demo->run_script('rpc_whoami.js', $port);
diag($out) if $rc;
is($rc, 0, 'the page gets its rpc answers');
like($out, qr/whoami answered in the page: connection \d+/, 'whoami, with the connection id');
like($out, qr/an unknown method is refused/, 'an unknown method, as an error');
check_logs($ngx);

done_testing();
