# Soak: a long run of churn, fan-out and compression, with the memory of
# the workers and of ws_zone recorded over time (make soak; not part of
# make test). SOAK_SECONDS sets the length (default 1800, 30 minutes).
#
# The promise (README, "bounded memory"; docs/operations.md): under a
# steady load, NGINX's workers and ws_zone stop growing once warmed up:
# whatever the clients do (come and go, subscribe, publish, compress),
# memory depends on what is open now, not on what happened before.
#
# The load, from one client process: ROOMS rooms with STEADY subscribers
# each, permessage-deflate negotiated (context takeover), reading and
# inflating everything; CHURN more clients that each live 0.5-3 s, publish
# a message into their room as they arrive and leave with a close frame or
# by dropping the TCP connection; a publisher POSTing PUBLISH_RATE
# messages a second (every tenth is a 4 KiB one). Two workers, history
# kept (ws_channel_history), so the zone holds messages too.
#
# Every SAMPLE_EVERY seconds: the workers' and master's RSS, the workers'
# malloc heap (the [heap] mappings: how much is mapped, how much of it is
# resident), the zone's free bytes, channels and connections (ws_status),
# messages received,
# and how far behind the steady subscribers are (their rooms' last
# sequence numbers minus the last they read: a client process that cannot
# keep up leaves output queued in NGINX, which is memory too);
# written to build/soak/soak-<time>.csv. Checked at the end: between the
# end of the warm-up (WARM_UP, 8 minutes; a run shorter than twice that
# records the figures without judging them) and the end, worker RSS grows by
# less than RSS_GROWTH_KB and the zone's free bytes fall by less than
# ZONE_DROP_BYTES; every steady subscriber got every message of its room
# in order (sequence numbers without a hole); after the clients leave,
# the connection gauge is 0.
use Test::NgxWs;
use Compress::Raw::Zlib;
use IO::Select;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

use constant DURATION => $ENV{SOAK_SECONDS} // 1800;
# SOAK_DEFLATE=0: the same load uncompressed (to tell where memory goes)
use constant DEFLATE => $ENV{SOAK_DEFLATE} // 1;
use constant ROOMS => 10;
use constant STEADY => 8;           # per room
use constant CHURN => 40;           # short-lived clients at a time
use constant PUBLISH_RATE => 20;    # publishes a second
use constant SAMPLE_EVERY => DURATION >= 600 ? 30 : 10;
# Seconds until memory settles: the kept history fills, and with 120
# compressing sessions open the workers' RSS climbs for about 7 minutes
# (to 45-47 MB here, from 17 MB uncompressed) before it stays flat. The
# heap itself is mapped at its level within the first minute (each
# compressing session's zlib state, 262 KiB, is allocated whole); the
# climb is its pages becoming resident as zlib first writes to them
# (docs/operations.md, Soak).
use constant WARM_UP => 480;
use constant RSS_GROWTH_KB => 2048;
use constant ZONE_DROP_BYTES => 64 * 1024;

$SIG{PIPE} = 'IGNORE';
my $port = test_port();
my $ngx = start_nginx(name => 'soak', log_level => 'notice',
    main_config => 'worker_processes 2;', listen_options => 'reuseport',
    http_config => "ws_zone soak 16m;\n    ws_channel_history 100 1m;",
    config => <<'CONF' =~ s/\$deflate/DEFLATE ? 'on' : 'off'/er);
    location ~ ^/chat/(?<room>\w+)$ {
        ws_listen; ws_protocol json; ws_channels_allow room:*;
        ws_subscribe room:$room; ws_deflate $deflate;
    }
    location ~ ^/pub/(?<c>[\w:]+)$ { ws_publisher $c; }
    location = /metrics { ws_status; }
CONF

sub inflater {
    my ($i, $st) = Compress::Raw::Zlib::Inflate->new(
        -WindowBits => -15, -AppendOutput => 0, -ConsumeInput => 1,
        -LimitOutput => 0);
    die "inflater: $st" unless $i;
    return $i;
}

sub connect_client {
    my ($room) = @_;
    my $ws = eval { ws_connect(port => $port, uri => "/chat/r$room",
        headers => "Sec-WebSocket-Extensions: permessage-deflate\n") }
        or return undef;
    return { ws => $ws, room => $room, inflate => inflater(), seqs => [] };
}

# Reads what the socket has; returns false when the connection ended.
sub pump {
    my ($c) = @_;
    my $ws = $c->{ws};
    my $n = sysread($ws->{sock}, $ws->{buf}, 65536, length $ws->{buf});
    return 0 if !$n;
    while (length $ws->{buf} >= 2) {
        my $f = eval { $ws->read_frame(0) } or last;
        if ($f->{op} == 9) { $ws->send_pong($f->{payload}); next }
        return 0 if $f->{op} == 8;
        next unless $f->{op} == 1;
        my $text = $f->{payload};
        if ($f->{rsv} & 4) {
            my $in = $text . "\x00\x00\xff\xff";
            my $st = $c->{inflate}->inflate($in, my $out);
            if ($st != Z_OK && $st != Z_BUF_ERROR) { $c->{bad}++; next }
            $text = $out;
            $c->{compressed}++;
        }
        my $o = eval { decode_json($text) } or do { $c->{bad}++; next };
        next unless ($o->{op} // '') eq 'message';
        push @{ $c->{seqs} }, $o->{seq} if $c->{steady};
        $c->{received}++;
    }
    return 1;
}

sub metrics {
    my $res = eval { http_request(port => $port, timeout => 5,
        raw => "GET /metrics HTTP/1.1\r\nHost: localhost\r\n"
             . "Connection: close\r\n\r\n") } // { body => '' };
    my %g;
    for my $name (qw(ngx_ws_connections ngx_ws_channels
                     ngx_ws_zone_free_bytes)) {
        $g{$name} += $1 while $res->{body} =~ /^\Q$name\E(?:\{[^}]*\})? (\d+)$/mg;
    }
    return \%g;
}

sub channel_seq {
    my ($channel) = @_;
    my $res = eval { http_request(port => $port, timeout => 5,
        raw => "GET /pub/$channel HTTP/1.1\r\nHost: localhost\r\n"
             . "Connection: close\r\n\r\n") } // { body => '' };
    return $res->{body} =~ /"seq":(\d+)/ ? $1 : 0;
}

# the publisher, a process of its own
my $publisher = fork // die "fork: $!\n";
if ($publisher == 0) {
    my $stop = 0;
    $SIG{TERM} = sub { $stop = 1 };
    for (my $n = 1; !$stop; $n++) {
        my $body = $n % 10 ? "p$n" : 'p' . ('x' x 4096);
        my $room = $n % ROOMS;
        eval { http_request(port => $port, timeout => 5,
            raw => "POST /pub/room:r$room HTTP/1.1\r\nHost: localhost\r\n"
                 . 'Content-Length: ' . length($body)
                 . "\r\nConnection: close\r\n\r\n$body") };
        sleep 1 / PUBLISH_RATE;
    }
    POSIX::_exit(0);
}

my @steady;
for my $room (0 .. ROOMS - 1) {
    for (1 .. STEADY) {
        my $c = connect_client($room) or die "steady client: $@\n";
        $c->{steady} = 1;
        push @steady, $c;
    }
}
my @churn;
my ($churned, $churn_failed) = (0, 0);

my $dir = repo_root() . '/build/soak';
mkdir $dir;
my $csv = sprintf '%s/soak-%s.csv', $dir,
                  POSIX::strftime('%Y%m%dT%H%M%S', gmtime);
open my $out, '>', $csv or die "$csv: $!\n";
$out->autoflush(1);
print $out "seconds,workers_rss_kb,master_rss_kb,workers_heap_kb,"
         . "workers_heap_rss_kb,zone_free_bytes,channels,connections,churned,"
         . "received,lag\n";

# The [heap] mappings of a process (glibc's main arena, where a worker's
# small and medium allocations live): kB mapped and kB resident.
sub heap_kb {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/smaps" or return (undef, undef);
    my ($in_heap, $size, $rss) = (0, 0, 0);
    while (<$fh>) {
        if (/^[0-9a-f]+-[0-9a-f]+ /) { $in_heap = /\[heap\]$/; next }
        next unless $in_heap;
        $size += $1 if /^Size:\s+(\d+)/;
        $rss += $1 if /^Rss:\s+(\d+)/;
    }
    return ($size, $rss);
}

my @samples;
sub sample {
    my ($t) = @_;
    my ($rss, $heap, $heap_rss) = (0, 0, 0);
    for my $pid ($ngx->workers) {
        $rss += vm_rss_kb($pid) // 0;
        my ($size, $resident) = heap_kb($pid);
        $heap += $size // 0;
        $heap_rss += $resident // 0;
    }
    my $m = metrics();
    my $received = 0;
    $received += $_->{received} // 0 for @steady, @churn;
    # messages the steady subscribers have not read yet: queued in NGINX
    # (or the kernel) for a client that is behind, which costs memory
    my %top;
    my $lag = 0;
    for my $c (@steady) {
        $top{$c->{room}} //= channel_seq("room:r$c->{room}");
        $lag += $top{$c->{room}} - ($c->{seqs}[-1] // $top{$c->{room}});
    }
    my $s = { t => $t, rss => $rss, master => vm_rss_kb($ngx->{pid}),
              heap => $heap, heap_rss => $heap_rss,
              free => $m->{ngx_ws_zone_free_bytes},
              channels => $m->{ngx_ws_channels},
              connections => $m->{ngx_ws_connections},
              churned => $churned, received => $received, lag => $lag };
    push @samples, $s;
    print $out join(',', map { $s->{$_} // '' }
        qw(t rss master heap heap_rss free channels connections churned
           received lag))
        . "\n";
}

my $t0 = time;
my $next_sample = 0;
my $closed_steady = 0;
while ((my $now = time - $t0) < DURATION) {
    if ($now >= $next_sample) {
        sample(int $now);
        $next_sample += SAMPLE_EVERY;
    }
    # churn: keep CHURN short-lived clients, each leaving at its time
    @churn = grep {
        my $keep = time < $_->{until};
        if (!$keep) {
            if (rand() < 0.5) { eval { $_->{ws}->send_close(1000) } }
            $_->{ws}->disconnect;
        }
        $keep } @churn;
    while (@churn < CHURN) {
        my $c = connect_client(int rand ROOMS);
        if (!$c) { $churn_failed++; last }
        $c->{until} = time + 0.5 + rand 2.5;
        $c->{ws}->send_text(encode_json({ op => 'publish',
            channel => "room:r$c->{room}", data => "hello $churned" }));
        push @churn, $c;
        $churned++;
    }
    my %by_sock = map { fileno($_->{ws}{sock}) => $_ } @steady, @churn;
    my $sel = IO::Select->new(map { $_->{ws}{sock} } @steady, @churn);
    for my $sock ($sel->can_read(0.05)) {
        my $c = $by_sock{fileno $sock} or next;
        next if pump($c);
        $c->{gone} = 1;
        $closed_steady++ if $c->{steady};
    }
    @churn = grep { !$_->{gone} } @churn;
}
kill 'TERM', $publisher;
waitpid $publisher, 0;
sample(int(time - $t0));

my $warm = (grep { $_->{t} >= WARM_UP } @samples)[0] // $samples[-1];
my $last = $samples[-1];
my $growth = $last->{rss} - $warm->{rss};
my $drop = $warm->{free} - $last->{free};
note(sprintf 'soak: %d s, %d churned clients (%d failed to connect), '
     . '%d messages received; CSV: %s', $last->{t}, $churned, $churn_failed,
     $last->{received}, $csv);
note(sprintf 'workers heap %d kB mapped, %d kB resident at %d s (warm); '
     . '%d kB mapped, %d kB resident at %d s', $warm->{heap},
     $warm->{heap_rss}, $warm->{t}, $last->{heap}, $last->{heap_rss},
     $last->{t});
note(sprintf 'workers RSS %d kB at %d s (warm), %d kB at %d s; zone free '
     . '%d -> %d bytes; master RSS %d -> %d kB; steady subscribers behind '
     . 'by %d -> %d messages', $warm->{rss}, $warm->{t},
     $last->{rss}, $last->{t}, $warm->{free}, $last->{free},
     $warm->{master}, $last->{master}, $warm->{lag}, $last->{lag});

is($closed_steady, 0, 'no steady subscriber was closed');
SKIP: {
    # a run shorter than twice the warm-up has too little flat time to say
    skip 'run shorter than twice the warm-up (' . WARM_UP . ' s): RSS and '
         . 'zone recorded, not judged', 2 if DURATION < 2 * WARM_UP;
    cmp_ok($growth, '<=', RSS_GROWTH_KB, "workers' RSS flat after the "
           . "warm-up (+$growth kB from $warm->{t} s to $last->{t} s)");
    cmp_ok($drop, '<=', ZONE_DROP_BYTES, "ws_zone's free bytes flat after "
           . "the warm-up ($warm->{free} -> $last->{free})");
}
my (@holes, $bad, $compressed);
for my $c (@steady) {
    my @q = @{ $c->{seqs} };
    $bad += $c->{bad} // 0;
    $compressed += $c->{compressed} // 0;
    push @holes, "room $c->{room}: " . scalar(@q) . ' messages with holes'
        if grep { $q[$_] != $q[$_ - 1] + 1 } 1 .. $#q;
}
ok(!@holes, 'every steady subscriber got its room\'s messages in order, '
            . 'none missing') or diag(join "\n", @holes[0 .. 4]);
ok(!$bad && (!DEFLATE || $compressed),
   "every message inflated and parsed ($compressed compressed)");

$_->{ws}->disconnect for @steady, @churn;
ok(wait_for(sub { (metrics()->{ngx_ws_connections} // -1) == 0 }, 10),
   'the connection gauge back to 0 once the clients left');
check_logs($ngx);
done_testing();
