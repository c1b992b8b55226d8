# Small frames share buffers on their way out: the session's output queue
# copies small frames queued one after another into a cork (one entry for
# many), the proxy packs the frames it sends an upstream into shared
# pieces written once per loop pass. Nothing of that may show to a peer:
# thousands of pipelined messages of mixed sizes (below and above the
# cork's limit) and kinds (text, binary, pings between them) come back
# whole and in order to a client that reads only after the server's
# socket is full (so writes end inside a cork and resume there), and the
# counters count messages, not corks.
use Test::NgxWs;
use Test::More;
use IPC::Open2 qw(open2);
use IO::Select;
use Errno qw(EAGAIN EWOULDBLOCK);
use Time::HiRes qw(sleep time);

my $port = test_port();
my $py = $port + 1;        # Python websockets echo app
my $root = repo_root();

my $pid = open2(my $from_py, my $to_py, '/usr/bin/python3',
                "$root/t/proxy/python_upstream.py", $py);
like(scalar(<$from_py>) // '', qr/listening/, 'python websockets upstream listens');

my $ngx = start_nginx(name => 'output cork', listen_options => 'sndbuf=16k',
    http_config => 'ws_zone cork 1m;', config => <<CONF);
    location = /echo { ws_listen; ws_echo on; ws_send_buffer 16m; }
    location /px/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$py/;
        ws_send_buffer 16m;
        ws_max_message_size 1m;
    }
    location = /metrics { ws_status; }
CONF

sub scrape { scrape_metrics() }

# The messages: sizes cycle through 6..300 bytes (the cork takes frames of
# up to 248), one in 97 is 5,000 bytes (a shared frame; a piece of its own
# on the way to an upstream); runs of text and binary, so neighbours differ
# in their first byte now and then; a ping every 250 messages.
sub messages {
    my ($count) = @_;
    my @m;
    for my $i (0 .. $count - 1) {
        my $len = $i % 97 == 96 ? 5000 : 6 + ($i * 37) % 295;
        my $body = sprintf('%06d', $i);
        $body .= chr(ord('a') + ($i + length $body) % 26) while length $body < $len;
        push @m, { op => (int($i / 7) % 3 == 2 ? 'binary' : 'text'), payload => $body };
    }
    return @m;
}

# Sends every message (and the pings) in as few writes as the socket
# takes, without reading; waits; then reads until every echo is in.
sub pipelined {
    my ($name, $uri, $count) = @_;
    my @want = messages($count);
    my $ws = ws_connect(uri => $uri, rcvbuf => 16384);
    my $sock = $ws->{sock};
    my ($out, $pings) = ('', 0);
    for my $i (0 .. $#want) {
        $out .= Test::NgxWs::Client::encode_frame(
            op => $want[$i]{op} eq 'text' ? 1 : 2, payload => $want[$i]{payload});
        if ($i % 250 == 249) {
            $out .= Test::NgxWs::Client::encode_frame(op => 9, payload => "p$i");
            $pings++;
        }
    }
    $sock->blocking(0);
    my $deadline = time + 20;
    while (length $out && time < $deadline) {
        my $n = syswrite($sock, $out, 65536);
        if ($n) { substr($out, 0, $n, ''); next }
        die "write failed: $!" unless $! == EAGAIN || $! == EWOULDBLOCK;
        # the server's echoes fill our small window: read a little back
        last;
    }
    # the server's socket fills with echoes it cannot write yet
    sleep 0.5;
    $sock->blocking(1);

    my ($got, $pongs, $bad, $first_bad) = (0, 0, 0, undef);
    $deadline = time + 30;
    while (($got < $count || $pongs < $pings) && time < $deadline) {
        if (length $out) {
            $sock->blocking(0);
            my $n = syswrite($sock, $out, 65536);
            substr($out, 0, $n, '') if $n;
            $sock->blocking(1);
        }
        my $m = eval { $ws->read_message(0.2) } or next;
        if ($m->{op} eq 'pong') { $pongs++; next }
        my $w = $want[$got++];
        if ($m->{op} ne $w->{op} || $m->{payload} ne $w->{payload} || @{ $m->{errors} }) {
            $bad++;
            $first_bad //= "message " . ($got - 1) . ": got $m->{op} of "
                           . length($m->{payload}) . " bytes starting "
                           . substr($m->{payload}, 0, 6);
        }
    }
    is($got, $count, "$name - every message echoed");
    is($bad, 0, "$name - in order, each intact and of its kind")
        or diag($first_bad);
    is($pongs, $pings, "$name - every ping answered");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    return \@want;
}

my $before = scrape();
my $want = pipelined('echo', '/echo', 4000);
my $after = scrape();

# counted as messages, one each, not one per cork
my %kinds = (text => 0, binary => 0);
$kinds{ $_->{op} }++ for @$want;
for my $op (qw(text binary)) {
    my $k = "ngx_ws_messages_total{direction=\"out\",opcode=\"$op\"}";
    is(($after->{$k} // 0) - ($before->{$k} // 0), $kinds{$op},
       "echo - $kinds{$op} $op messages counted out");
}
is(($after->{ngx_ws_send_delay_seconds_count} // 0)
   - ($before->{ngx_ws_send_delay_seconds_count} // 0), 4000,
   'echo - a send delay observed per message');

pipelined('proxy', '/px/echo', 3000);

check_logs($ngx);
kill 'TERM', $pid;
waitpid($pid, 0);

done_testing();
