# Real clients, not ours: Python `websockets` and Node `ws` round-trip text
# and binary messages (0 .. 1 MiB) through the echo endpoint over ws:// and
# wss:// (self-signed certificate, trusted through --cafile).
use Test::NgxWs;

my $dir = repo_root() . '/t/interop';
my $port = test_port();
my $port2 = $port + 1;

my $ngx = start_nginx(name => 'interop', log_level => 'info',
    config => '    location /ws { ws_listen; ws_echo on; }',
    http_config => <<'CONF');
    server {
        listen 127.0.0.1:$port2 ssl;
        ssl_certificate cert.pem;
        ssl_certificate_key cert.key;
        location /ws { ws_listen; ws_echo on; }
    }
CONF
my $ca = "$ngx->{prefix}/conf/cert.pem";
my @urls = ("ws://127.0.0.1:$port/ws", "wss://127.0.0.1:$port2/ws");

sub run_client {
    my ($name, $cmd) = @_;
    my $out = run_bounded($cmd);
    my $rc = $? >> 8;
    note($out);
    ok($rc == 0 && $out =~ /^ok /m, "$name - exit code $rc")
        or diag(join "\n", grep { /FAILED|Error|Traceback/ } split /\n/, $out);
}

SKIP: {
    skip 'no /usr/bin/python3 with websockets', 1
        unless system('/usr/bin/python3 -c "import websockets" 2>/dev/null') == 0;
    run_client('python websockets', "/usr/bin/python3 $dir/python_client.py @urls --cafile $ca");
}

SKIP: {
    skip 'no node with ws', 1
        unless system('NODE_PATH=/usr/share/nodejs node -e "require(\'ws\')" 2>/dev/null') == 0;
    run_client('node ws', "NODE_PATH=/usr/share/nodejs node $dir/node_client.js @urls --cafile $ca");
}

check_logs($ngx);
done_testing();
