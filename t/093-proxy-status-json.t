# The proxy's per-location counters in ws_status's JSON answer
# ("?format=json"): the same figures as the Prometheus families of t/069
# (connects, handshakes, messages and bytes each way, closes of the
# upstream link by who closed first), one object per
# location that proxies, against a real upstream (Python websockets), a
# peer nobody listens on and an upstream's refusal.
use Test::NgxWs;
use Test::More;
use IPC::Open2 qw(open2);
use JSON::PP qw(decode_json);

my $port = test_port();
my $py = $port + 2;
my $dead = $port + 4;    # nothing listens there
my $root = repo_root();

my $pid = open2(my $out, my $in, '/usr/bin/python3',
                "$root/t/proxy/python_upstream.py", $py);
like(<$out> // '', qr/listening/, 'python websockets listens');

my $ngx = start_nginx(name => 'proxy status json',
                      http_config => 'ws_zone metrics 1m;',
                      log_level => 'info', config => <<CONF);
    location /py/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$py;
    }
    location /dead/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$dead;
    }
    location /echo {
        ws_listen;
        ws_echo on;
    }
    location = /metrics { ws_status; }
CONF

sub fetch {
    my ($query) = @_;
    my $res = http_request(raw => "GET /metrics$query HTTP/1.1\r\nHost: t\r\n"
                                  . "Connection: close\r\n\r\n");
    return $res->{body} // '';
}

sub prom {
    my ($text, $name, $loc, $label, $value) = @_;
    return $text =~ /^\Q$name\E\{server="[^"]*",location="\Q$loc\E",\Q$label\E="\Q$value\E"\} (\d+)$/m
        ? $1 : undef;
}

sub proxy_of {
    my ($json, $loc) = @_;
    my ($entry) = grep { $_->{location} eq $loc } @{ $json->{proxy} // [] };
    return $entry;
}

for my $i (1 .. 3) {
    my $ws = ws_connect(uri => '/py/echo');
    $ws->send_text("hello $i");
    $ws->expect("text hello $i", "echo $i relayed");
    $ws->send_dsl('binary len=300');
    $ws->expect('binary len=300', "binary $i relayed");
    $ws->send_close(1000);
    $ws->expect('close 1000', "closed $i");
}
{
    my $ws = ws_connect(uri => '/py/close4000');
    $ws->send_text('last');
    $ws->expect('close 4000', 'the upstream closes first');
}
my $e = ws_connect(uri => '/echo');
$e->send_text('not proxied');
$e->expect('text not proxied', 'a terminated endpoint beside them');
$e->send_close(1000);
$e->expect('close 1000', 'closed');

my $up = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
         . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         . "Sec-WebSocket-Version: 13\r\n\r\n";
is(http_request(raw => "GET /py/refuse HTTP/1.1\r\nHost: t\r\n$up")->{status},
   403, 'a refusal is relayed');
is(http_request(raw => "GET /dead/x HTTP/1.1\r\nHost: t\r\n$up")->{status},
   502, 'no peer: 502');

my ($json, $text);
wait_for(sub {
    $json = eval { decode_json(fetch('?format=json')) };
    my $py = $json && proxy_of($json, '/py/');
    $py && ($py->{messages}{from_upstream} // 0) >= 6
        && ($py->{closes}{proxy} // 0) + ($py->{closes}{upstream} // 0) >= 4;
}, 5);
ok($json, 'the JSON answer parses');
$text = fetch('');

my $p = proxy_of($json, '/py/');
ok($p, 'the JSON answer has the proxied location');
is($p->{server}, 'localhost', 'with its server') if $p;
is($p->{connects}{ok}, 5, 'connects ok: 4 relayed, 1 refused');
is($p->{connects}{failed}, 0, 'no failed connect there');
is($p->{handshakes}{101}, 4, 'handshakes: 101');
is($p->{handshakes}{'4xx'}, 1, "handshakes: the upstream's 403");
is($p->{messages}{to_upstream}, 7, 'messages to the upstream');
is($p->{messages}{from_upstream}, 6, 'messages from the upstream');
# "hello N" 6 + 4 + 7, 300 bytes 4 + 4 + 300, a close 2 + 4 + 2, each time
cmp_ok($p->{bytes}{to_upstream} // 0, '>=', 3 * (17 + 308 + 8),
       'bytes to the upstream, masked frames');
cmp_ok($p->{bytes}{from_upstream} // 0, '>=', 3 * (9 + 304 + 4),
       'bytes from the upstream');
is($p->{closes}{proxy}, 3, "closes: the clients' 1000, sent on by the proxy");
is($p->{closes}{upstream}, 1, "closes: the upstream's 4000");
is($p->{closes}{none}, 0, 'closes: none without a close frame');

my $d = proxy_of($json, '/dead/');
is($d->{connects}{failed}, 1, 'connects failed: the peer nobody listens on');
is($d->{handshakes}{unreachable}, 1, 'handshakes: no peer answered');
is($d->{messages}{to_upstream}, 0, 'no message there');
is($d->{closes}{proxy} + $d->{closes}{upstream}, 0,
   'no link there was ever relaying');

ok(!proxy_of($json, '/echo'), 'a location that does not proxy is left out');
ok(!proxy_of($json, '/metrics'), 'and so is the status location');

# the same figures as Prometheus, every one of them
my %tables = (
    connects   => ['ngx_ws_proxy_connects_total', 'result'],
    handshakes => ['ngx_ws_proxy_handshakes_total', 'result'],
    messages   => ['ngx_ws_proxy_messages_total', 'direction'],
    bytes      => ['ngx_ws_proxy_bytes_total', 'direction'],
    closes     => ['ngx_ws_proxy_closes_total', 'by'],
);
# (Prometheus leaves out a family's lines for a location where all are 0)
my ($same, $compared, $absent) = (1, 0, 0);
for my $loc (map { $_->{location} } @{ $json->{proxy} // [] }) {
    my $entry = proxy_of($json, $loc);
    for my $key (sort keys %tables) {
        my ($family, $label) = @{ $tables{$key} };
        my $listed = $text =~ /^\Q$family\E\{server="[^"]*",location="\Q$loc\E",/m;
        for my $value (sort keys %{ $entry->{$key} }) {
            my $v = prom($text, $family, $loc, $label, $value);
            $v //= 0, $absent++ unless $listed;
            $compared++;
            if (!defined $v || $v != $entry->{$key}{$value}) {
                $same = 0;
                diag("$loc $key $value: json $entry->{$key}{$value}, "
                     . 'prometheus ' . ($v // 'missing'));
            }
        }
    }
}
ok($same, "JSON and Prometheus agree ($compared figures)");
is($compared, 2 * (2 + 7 + 2 + 2 + 3), 'every figure of both locations');
# /dead/ has neither messages, bytes nor closes: 2 + 2 + 3 left out
is($absent, 7, 'and only the families of all zeros are left out of Prometheus');

check_logs($ngx, undef, allow => qr/ws proxy: upstream|connect\(\) failed/);
kill 'TERM', $pid;
done_testing();
