# Chaos: faults on a wss:// port, repeated.
#
# The promise (docs/operations.md, "Chaos tests"; NGINX's TLS layer, under
# which the module runs): whatever a client does to the TLS layer, the
# worker does not crash, keeps no memory or descriptor for it once it is
# gone, and enforces the handshake's time limit (client_header_timeout
# covers the TLS handshake and the upgrade request); the WebSockets of
# other clients are not disturbed.
#
# Measured on loopback against a certificate made by openssl for the test:
# - garbage instead of a ClientHello (refused at once);
# - a real ClientHello cut half-way, the client then gone (freed at once)
#   or silent (closed by the timeout);
# - a full ClientHello, then the client leaves after the server's answer;
# - a slowloris: the ClientHello sent a byte at a time, slower than the
#   timeout (closed by the timeout, however the bytes trickle);
# - a WebSocket over TLS that ends without close_notify (and without a
#   close frame), a frame cut half-way or not.
# Each kind ROUNDS x PER_ROUND times; the worker's RSS after the first
# round and after the last, its descriptors back to where they were, the
# same worker throughout, an echo client open throughout.
use Test::NgxWs;
use IO::Socket::INET;
use IO::Select;
use IO::Socket::SSL;
use Time::HiRes qw(time sleep);

use constant TIMEOUT => 2;      # client_header_timeout, seconds
use constant MARGIN => 1;       # timers and a loaded machine
use constant ROUNDS => 4;
use constant PER_ROUND => 50;
use constant RSS_GROWTH_KB => 1024;   # allowed between round 1 and the last

$SIG{PIPE} = 'IGNORE';
my $port = test_port();
my $tls_port = $port + 1;
my $ngx = start_nginx(name => 'tls faults', log_level => 'info',
    http_config => 'ws_zone chaos 1m;', config => <<"CONF");
        listen 127.0.0.1:$tls_port ssl;
        ssl_certificate cert.pem;
        ssl_certificate_key cert.key;
        client_header_timeout ${\ TIMEOUT}s;
        location = /ws { ws_listen; ws_echo on; }
CONF
my ($worker) = $ngx->workers;

sub fd_count {
    opendir my $dh, "/proc/$worker/fd" or return -1;
    return scalar grep { /^\d+$/ } readdir $dh;
}

sub raw_connect {
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                 PeerPort => $tls_port, Timeout => 5)
        // die "connect: $@\n";
}

# Seconds until the server ends the connection (EOF or reset), reading
# and dropping what it sends; undef if it is still open after $limit.
sub time_to_close {
    my ($sock, $limit, $t0) = @_;
    $t0 //= time;
    my $sel = IO::Select->new($sock);
    while (time - $t0 < $limit) {
        next unless $sel->can_read(0.1);
        my $n = sysread($sock, my $buf, 65536);
        return time - $t0 if !$n;
    }
    return undef;
}

# A real ClientHello, as IO::Socket::SSL sends it: caught by a listening
# socket of our own.
sub client_hello {
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
        LocalPort => $port + 5, Listen => 1, ReuseAddr => 1) // die "$@\n";
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port + 5);
        IO::Socket::SSL->start_SSL($s, SSL_verify_mode => 0, Timeout => 2,
                                   SSL_hostname => 'localhost');
        POSIX::_exit(0);
    }
    my $c = $l->accept;
    my $hello = '';
    my $sel = IO::Select->new($c);
    while ($sel->can_read(1)) {
        sysread($c, my $buf, 65536) or last;
        $hello .= $buf;
        # a TLS record: type 22, version, 2-byte length
        last if length $hello >= 5
                && length $hello >= 5 + unpack('n', substr $hello, 3, 2);
    }
    close $c;
    waitpid $pid, 0;
    return $hello;
}

my $hello = client_hello();
ok(length $hello > 100 && substr($hello, 0, 1) eq "\x16",
   'a ClientHello caught (' . length($hello) . ' bytes)');
my $half = substr $hello, 0, int(length($hello) / 2);

# an echo client over TLS, open throughout
my $steady = ws_connect(port => $tls_port, tls => 1);
my $steady_ok = 1;
sub steady_echo {
    my ($n) = @_;
    $steady->send_text("steady $n");
    my $m = eval { $steady->read_message(5) };
    $steady_ok = 0 unless $m && $m->{payload} eq "steady $n";
}

my %fault = (
    garbage => sub {
        my $s = raw_connect();
        syswrite $s, join '', map { chr int rand 256 } 1 .. 1024;
        return time_to_close($s, 5);
    },
    'half a ClientHello, then gone' => sub {
        my $s = raw_connect();
        syswrite $s, $half;
        close $s;
        return 0;
    },
    'a ClientHello, gone after the answer' => sub {
        my $s = raw_connect();
        syswrite $s, $hello;
        my $sel = IO::Select->new($s);
        sysread($s, my $buf, 65536) if $sel->can_read(2);
        close $s;
        return 0;
    },
    'a WebSocket over TLS, gone without close_notify' => sub {
        my $ws = ws_connect(port => $tls_port, tls => 1);
        $ws->send_text('x');
        eval { $ws->read_message(2) };
        # a frame header announcing 100 bytes, 10 sent, half the time
        $ws->send_raw("\x81\xe4\x01\x02\x03\x04" . 'x' x 10) if rand() < 0.5;
        # the TCP socket underneath closed: no close frame, no close_notify
        $ws->{sock}->close(SSL_no_shutdown => 1);
        return 0;
    },
);

my (@rss, $closed_late, %slowest, @open_after);
my $fd_before = fd_count();
for my $round (1 .. ROUNDS) {
    for my $kind (sort keys %fault) {
        for (1 .. PER_ROUND) {
            my $took = $fault{$kind}->();
            if (!defined $took) {
                $closed_late++;
            } elsif (!defined $slowest{$kind} || $took > $slowest{$kind}) {
                $slowest{$kind} = $took;
            }
        }
        steady_echo("$round $kind");
    }
    wait_for(sub { fd_count() <= $fd_before }, 5);
    push @rss, vm_rss_kb($worker);
}
ok(!$closed_late, 'garbage instead of a ClientHello: the connection ended '
                  . 'within 5 s each time' . sprintf(' (slowest %.3f s)',
                                                     $slowest{garbage}));

# the handshake's time limit, on connections left hanging
my %hang = (
    'nothing sent' => sub { },
    'half a ClientHello, then silent' => sub { syswrite $_[0], $half },
);
for my $kind (sort keys %hang) {
    my $s = raw_connect();
    my $t0 = time;
    $hang{$kind}->($s);
    my $took = time_to_close($s, TIMEOUT + MARGIN + 5, $t0);
    ok(defined $took && $took <= TIMEOUT + MARGIN,
       "$kind: closed by client_header_timeout "
       . (defined $took ? sprintf('after %.2f s', $took) : 'never')
       . ' (promise: ' . TIMEOUT . ' s)');
}

# the slowloris: a byte of the ClientHello every 0.2 s, each keeping the
# connection busy; the limit is on the whole handshake, not per byte
{
    my $s = raw_connect();
    my $t0 = time;
    my $sel = IO::Select->new($s);
    my ($took, $sent) = (undef, 0);
    while (time - $t0 < TIMEOUT + MARGIN + 5) {
        last if $sent >= length $hello;
        if (!defined syswrite($s, substr($hello, $sent, 1))) {
            $took = time - $t0;
            last;
        }
        $sent++;
        if ($sel->can_read(0.2)) {
            my $n = sysread($s, my $buf, 65536);
            if (!$n) { $took = time - $t0; last }
        }
    }
    ok(defined $took && $took <= TIMEOUT + MARGIN,
       'a ClientHello sent a byte every 0.2 s: closed by the handshake '
       . 'limit ' . (defined $took ? sprintf('after %.2f s, %d bytes in',
                                             $took, $sent) : 'never'));
}

is(join(' ', $ngx->workers), $worker, 'the same worker throughout (no crash)');
ok($steady_ok, 'the steady wss:// client echoed after every batch of faults');
ok(wait_for(sub { fd_count() <= $fd_before }, 5),
   'the worker\'s descriptors back to ' . $fd_before . ' (now '
   . fd_count() . ')');
my $growth = $rss[-1] - $rss[0];
cmp_ok($growth, '<=', RSS_GROWTH_KB,
       "worker RSS flat from round 1 to round ${\ ROUNDS}, each of "
       . (PER_ROUND * keys %fault) . " faults: $rss[0] kB -> $rss[-1] kB "
       . "(+$growth kB; allowed " . RSS_GROWTH_KB . ' kB)');
note('RSS after each round (kB): ' . join(' ', @rss));
note(join ', ', map { sprintf '%s: slowest %.3f s', $_, $slowest{$_} }
                    sort keys %slowest);

$steady->disconnect;
# Garbage that happens to read as a TLS record header announcing too long
# a record is logged by NGINX at crit ("packet length too long"): NGINX's
# own choice of level for that OpenSSL error, not a fault of the worker.
check_logs($ngx, undef, allow => [
    qr/SSL_do_handshake\(\) failed \(SSL: error:\w+:SSL routines::[\w ]+\) while SSL handshaking/]);
done_testing();
