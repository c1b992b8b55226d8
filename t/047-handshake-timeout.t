# The handshake is bounded by NGINX's own client_header_timeout: a
# slowloris client that sends the headers of its upgrade request one byte
# at a time, never finishing them, is closed once the timeout has passed
# since it connected, without a 101, and the timeout is logged; a client
# that sends the same request whole, after a pause shorter than the
# timeout, is upgraded.
use Test::NgxWs;
use Test::More;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my $port = test_port();

my $ngx = start_nginx(name => 'handshake timeout', log_level => 'info',
                      config => <<'CONF');
    client_header_timeout 1s;
    location /ws { ws_listen; ws_echo on; }
CONF

my $request = "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
            . "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

sub connect_raw {
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                     Proto => 'tcp', Timeout => 5)
        or die "connect to 127.0.0.1:$port failed: $@\n";
    $sock->autoflush(1);
    return $sock;
}

{
    my $name = 'slowloris upgrade';
    my $sock = connect_raw();
    my $start = time;
    my ($sent, $got, $closed_after) = (0, '', undef);
    my $sel = IO::Select->new($sock);
    # the request line at once, then the headers one byte every 0.2 s:
    # the whole request would take about 25 s
    $sent = syswrite($sock, "GET /ws HTTP/1.1\r\n");
    while ($sent < length $request && time - $start < 10) {
        if ($sel->can_read(0.2)) {
            my $n = sysread($sock, my $chunk, 4096);
            if (!$n) {
                $closed_after = time - $start;
                last;
            }
            $got .= $chunk;
            next;
        }
        # a write to a connection the server has closed may fail: the
        # next read says how it ended
        local $SIG{PIPE} = 'IGNORE';
        syswrite($sock, substr($request, $sent, 1)) or next;
        $sent++;
    }
    note(sprintf 'sent %d of %d bytes, closed after %s s', $sent,
         length $request, defined $closed_after ? sprintf('%.2f', $closed_after) : 'never');
    ok(defined $closed_after, "$name - closed by the server");
    # 1 s after the connect; the upper bound leaves room for a busy machine
    ok(defined $closed_after && $closed_after >= 0.9 && $closed_after < 4,
       "$name - once client_header_timeout (1s) has passed");
    cmp_ok($sent, '<', length $request, "$name - before the request was complete");
    is($got, '', "$name - with no answer at all, no 101");
    ok(wait_for(sub { $ngx->error_log =~
        /\[info\] .*client timed out \(110: Connection timed out\) while reading client request headers/ }, 3),
       "$name - the timeout is logged");
    ok(wait_for(sub { $ngx->access_log =~ m{"GET /ws HTTP/1\.1" 408 } }, 3),
       "$name - and the request logged as 408");
    close $sock;
}

{
    my $name = 'the whole request after a pause under the timeout';
    my $sock = connect_raw();
    sleep 0.5;
    syswrite($sock, $request);
    my $sel = IO::Select->new($sock);
    my $got = '';
    while ($got !~ /\r\n\r\n/ && $sel->can_read(3)) {
        sysread($sock, $got, 4096, length $got) or last;
    }
    like($got, qr{^HTTP/1\.1 101 }, "$name - upgraded");
    close $sock;
}

check_logs($ngx);
done_testing();
