# The proxy's counters in ws_status (Prometheus), by location: connects to
# upstream peers (ok, failed), how proxied handshakes ended (101, the
# upstream's 4xx, an unusable answer, no peer answering), and messages and
# bytes each way.
use Test::NgxWs;
use Test::More;
use IPC::Open2 qw(open2);
use IO::Socket::INET;

my $port = test_port();
my $py = $port + 2;
my $raw = $port + 3;
my $dead = $port + 4;    # nothing listens there
my $root = repo_root();

my $pid = open2(my $out, my $in, '/usr/bin/python3',
                "$root/t/proxy/python_upstream.py", $py);
like(<$out> // '', qr/listening/, 'python websockets listens');
my $rawpid = open2(my $rout, my $rin, '/usr/bin/python3',
                   "$root/t/proxy/bad_upstream.py", $raw);
like(<$rout> // '', qr/listening/, 'the raw upstream listens');

my $ngx = start_nginx(name => 'proxy metrics',
                      http_config => 'ws_zone metrics 1m;',
                      log_level => 'info', config => <<CONF);
    location /py/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$py;
    }
    location /raw/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$raw;
    }
    location /dead/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$dead;
    }
    location = /metrics { ws_status; }
CONF

sub metrics {
    my $res = http_request(raw => "GET /metrics HTTP/1.1\r\nHost: t\r\n"
                                  . "Connection: close\r\n\r\n");
    return $res->{body} // '';
}

sub value {
    my ($text, $name, $loc, $label) = @_;
    return $text =~ /^\Q$name\E\{server="[^"]*",location="\Q$loc\E",\Q$label\E"\} (\d+)$/m
        ? $1 : undef;
}

for my $i (1 .. 2) {
    my $ws = ws_connect(uri => '/py/echo');
    $ws->send_text("hello $i");
    $ws->expect("text hello $i", "echo $i relayed");
    $ws->send_dsl('binary len=100');
    $ws->expect('binary len=100', "binary $i relayed");
    $ws->send_close(1000);
    $ws->expect('close 1000', "closed $i");
}

my $r = http_request(raw => "GET /py/refuse HTTP/1.1\r\nHost: t\r\n"
                     . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     . "Sec-WebSocket-Version: 13\r\n\r\n");
is($r->{status}, 403, 'a refusal is relayed');
for my $path ('/raw/bad-accept', '/dead/x') {
    my $res = http_request(raw => "GET $path HTTP/1.1\r\nHost: t\r\n"
                           . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           . "Sec-WebSocket-Version: 13\r\n\r\n");
    is($res->{status}, 502, "$path: 502");
}

my $m;
wait_for(sub {
    $m = metrics();
    (value($m, 'ngx_ws_proxy_messages_total', '/py/',
           'direction="from_upstream') // 0) >= 4;
}, 5);

is(value($m, 'ngx_ws_proxy_connects_total', '/py/', 'result="ok'), 3,
   'connects ok: 2 relayed, 1 refused');
is(value($m, 'ngx_ws_proxy_connects_total', '/dead/', 'result="failed'), 1,
   'connects failed: the peer nobody listens on');
is(value($m, 'ngx_ws_proxy_handshakes_total', '/py/', 'result="101'), 2,
   'handshakes: 101');
is(value($m, 'ngx_ws_proxy_handshakes_total', '/py/', 'result="4xx'), 1,
   'handshakes: the upstream\'s 403');
is(value($m, 'ngx_ws_proxy_handshakes_total', '/raw/', 'result="invalid'), 1,
   'handshakes: a bad 101');
is(value($m, 'ngx_ws_proxy_handshakes_total', '/dead/',
         'result="unreachable'), 1, 'handshakes: no peer answered');
is(value($m, 'ngx_ws_proxy_messages_total', '/py/', 'direction="to_upstream'),
   4, 'messages to the upstream');
is(value($m, 'ngx_ws_proxy_messages_total', '/py/',
         'direction="from_upstream'), 4, 'messages from the upstream');
# "hello N": 6 + 4 (mask) + 7; 100 bytes: 2 + 4 + 100; a close: 2 + 4 + 2
cmp_ok(value($m, 'ngx_ws_proxy_bytes_total', '/py/',
             'direction="to_upstream') // 0, '>=', 2 * (13 + 106 + 8),
       'bytes to the upstream, masked frames');
# unmasked: "hello N" 2 + 7, 100 bytes 2 + 100, its close 2 + 2
cmp_ok(value($m, 'ngx_ws_proxy_bytes_total', '/py/',
             'direction="from_upstream') // 0, '>=', 2 * (9 + 102 + 4),
       'bytes from the upstream');
ok(!defined value($m, 'ngx_ws_proxy_messages_total', '/metrics',
                  'direction="to_upstream'),
   'locations without a proxy are left out');

check_logs($ngx, undef, allow => qr/ws proxy: upstream/);
kill 'TERM', $pid, $rawpid;
done_testing();
