# ws_io_uring: a worker's writes to plain sockets go through its io_uring,
# the writes of one loop pass submitted in one system call. Checked from
# outside: strace on the worker counts its system calls (a publish to 20
# subscribers is one io_uring_enter, not 20 sendto), the counters agree,
# a connection whose peer does not read gets its bytes whole and in order
# across partial writes, a 1 MiB reply is written at once (not in the
# ring), a connection closed while its write waits for room is really
# closed (the socket leaves ESTABLISHED), submissions the kernel refuses
# go in the next loop pass, a kernel that refuses the ring leaves the
# worker writing with send(), and nginx -t refuses what the directive
# does not take.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::Strace;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(sleep time);

my $port = test_port();
my $subscribers = 20;
my $publishes = 5;

my $ngx = start_nginx(name => 'ws_io_uring on',
    http_config => "ws_zone ring 1m;\n    ws_io_uring on;",
    config => <<'CONF');
    location /ws { ws_listen; ws_echo on; ws_send_buffer 64m; }
    location = /sub { ws_listen; ws_subscribe ring:a; }
    location = /pub { ws_publisher ring:a; }
    location = /stuck {
        ws_listen; ws_echo on; ws_send_buffer 64m; ws_max_message_size 16m;
        ws_idle_timeout 1s; ws_close_timeout 1s;
    }
    location = /metrics { ws_status; }
CONF

sub scrape { scrape_metrics() }

sub publish {
    my ($body) = @_;
    return http_request(raw => "POST /pub HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\nContent-Length: " . length($body) . "\r\n\r\n$body");
}

# The server side of a connection, from /proc/net/tcp: its state ('01' is
# ESTABLISHED), undef once the socket is gone.
sub server_socket_state {
    my ($client_port) = @_;
    open my $fh, '<', '/proc/net/tcp' or die "/proc/net/tcp: $!";
    while (<$fh>) {
        my @f = split;
        next unless $f[1] && $f[1] =~ /:([0-9A-F]{4})$/;
        my $local = hex $1;
        my ($remote) = $f[2] =~ /:([0-9A-F]{4})$/;
        return $f[3] if $local == $port && hex($remote) == $client_port;
    }
    return undef;
}

my ($worker) = $ngx->workers(1);
if ($ngx->error_log =~ /(ws_io_uring: the kernel gave no io_uring.*)/) {
    my $why = $1;
    $ngx->stop;
    plan skip_all => "no io_uring on this machine: $why";
}
ok($worker, 'one worker');

# --- a fan-out: one submission for every subscriber's write ------------
my @subs = map { ws_connect(uri => '/sub') } 1 .. $subscribers;
my $before = scrape();

my $trace = Test::NgxWs::Strace->follow($worker,
                                        'sendto,sendmsg,writev,io_uring_enter');
SKIP: {
    skip $Test::NgxWs::Strace::why_not, 3 unless $trace;

    for my $p (1 .. $publishes) {
        is(publish("message $p")->{status}, 200, "publish $p answered");
    }
    my $whole = 0;
    for my $s (@subs) {
        my $ok = 1;
        for my $p (1 .. $publishes) {
            my $m = $s->read_message(10);
            $ok = 0 unless $m && $m->{payload} eq "message $p";
        }
        $whole += $ok;
    }
    my @calls = $trace->stop;
    is($whole, $subscribers, 'every subscriber got every message, in order');

    my $enters = grep { /^io_uring_enter\(/ } @calls;
    my $sends = grep { /^(sendto|sendmsg|writev)\(/ } @calls;
    # the publishers' HTTP answers are written by NGINX itself
    ok($enters >= 1 && $enters <= 2 * $publishes
           && $sends <= $publishes,
       "$publishes publishes to $subscribers subscribers: "
       . "$enters io_uring_enter, $sends send calls")
        or diag(join "\n", @calls[0 .. ($#calls < 40 ? $#calls : 40)]);
}

my $after = scrape();
my $writes = ($after->{ngx_ws_io_uring_writes_total} // 0)
           - ($before->{ngx_ws_io_uring_writes_total} // 0);
my $submissions = ($after->{ngx_ws_io_uring_submissions_total} // 0)
                - ($before->{ngx_ws_io_uring_submissions_total} // 0);
ok($writes >= $subscribers * $publishes && $submissions >= 1
       && $submissions * 4 <= $writes,
   "counted: $writes writes in $submissions submissions");
$_->send_close(1000) for @subs;

# --- io_uring_enter() refused: retried, then the next pass -----------------
# strace makes the worker's first two submissions fail with EBUSY (the
# first, and the retry after reaping): the writes wait for the next loop
# pass, logged, and every subscriber still gets the message.
my @late_subs = map { ws_connect(uri => '/sub') } 1 .. $subscribers;
my $busy = Test::NgxWs::Strace->follow($worker, 'io_uring_enter',
    '-e', 'inject=io_uring_enter:error=EBUSY:when=1..2');
SKIP: {
    skip $Test::NgxWs::Strace::why_not, 3 unless $busy;

    my $log_at = length $ngx->error_log;
    is(publish('after a refusal')->{status}, 200, 'publish answered');
    my $got = 0;
    for my $s (@late_subs) {
        my $m = eval { $s->read_message(10) };
        $got++ if $m && $m->{payload} eq 'after a refusal';
    }
    $busy->stop;
    is($got, $subscribers, 'every subscriber got it after two refused submissions');
    like(substr($ngx->error_log, $log_at),
         qr/\[alert\].*ws_io_uring: io_uring_enter\(\) failed, $subscribers writes wait for the next loop pass \(16: /,
         'the refusal is logged with the writes left waiting')
        or diag(join "\n", grep { /uring|alert/ } split /\n/, substr($ngx->error_log, $log_at));
}
$_->send_close(1000) for @late_subs;

# --- a peer that reads late: partial writes, resumed in order ----------
my $messages = 400;
my $size = 4000;
my $ring_before = scrape()->{ngx_ws_io_uring_writes_total} // 0;
my $slow = ws_connect(uri => '/ws', rcvbuf => 8192);
setsockopt($slow->{sock}, IPPROTO_TCP, TCP_NODELAY, 1) or die "TCP_NODELAY: $!";
my @payloads = map { pack('N', $_) . chr(65 + $_ % 26) x ($size - 4) }
    1 .. $messages;
$slow->send_binary($_) for @payloads;
sleep 0.5;
my $in_order = 0;
for my $p (@payloads) {
    my $m = $slow->read_message(10);
    last unless $m && $m->{payload} eq $p;
    $in_order++;
}
is($in_order, $messages, 'a late reader gets every reply whole, in order');
my $ring_writes = (scrape()->{ngx_ws_io_uring_writes_total} // 0) - $ring_before;
# 1.6 MB through an 8 KiB window: many writes, each resumed where the
# last one stopped; through the ring, not send()
ok($ring_writes >= 20, "written through the ring ($ring_writes writes)");
$slow->send_close(1000);

# --- a long write goes at once, as without the ring -------------------
# A write in the ring keeps its frame until the completion, after the
# loop pass; for a 1 MiB reply that cost more than the call it saves.
my $big = ws_connect(uri => '/ws');
my $long = join '', map { chr(48 + $_ % 10) x 1024 } 1 .. 1024;
my $long_trace = Test::NgxWs::Strace->follow($worker, 'sendto,sendmsg,writev');
SKIP: {
    skip $Test::NgxWs::Strace::why_not, 2 unless $long_trace;

    $big->send_binary($long);
    my $m = $big->read_message(10);
    my @calls = $long_trace->stop;
    ok($m && $m->{payload} eq $long, 'a 1 MiB reply arrives whole');
    # sendto(fd, "...", len, ...) = written
    my @long_sends = grep { /^(?:sendto|writev)\(.*\) = (\d+)$/ && $1 >= 65536 } @calls;
    ok(scalar @long_sends, 'written by send(), not through the ring: '
       . scalar(@long_sends) . ' call(s) of 64 KiB or more')
        or diag(join "\n", @calls[0 .. ($#calls < 20 ? $#calls : 20)]);
}
$big->send_close(1000);

# --- closed while a write waits for room: the socket really closes ------
my $log_before = length $ngx->error_log;
my $stuck = ws_connect(uri => '/stuck', rcvbuf => 4096);
my $stuck_port = (Socket::sockaddr_in(getsockname($stuck->{sock})))[0];
# a reply far bigger than both sockets' buffers: its write waits
$stuck->send_binary('x' x (8 * 1024 * 1024));
ok(wait_for(sub {
       substr($ngx->error_log, $log_before) =~ /ws: connection closed, code 1001/
   }, 15),
   'the idle connection was closed, its reply still unwritten')
    or diag(join "\n", grep { /ws:/ } split /\n/, substr($ngx->error_log, $log_before));
my $state;
wait_for(sub {
    $state = server_socket_state($stuck_port);
    !defined $state || $state ne '01';
}, 5);
ok(!defined $state || $state ne '01',
   'its socket left ESTABLISHED (state ' . ($state // 'gone') . ')');
close $stuck->{sock};

# --- a kernel that refuses the ring: send() as before -----------------
SKIP: {
    my $refuse = Test::NgxWs::Strace->follow($ngx->master_pid, 'io_uring_setup',
        '-f', '-e', 'inject=io_uring_setup:error=EPERM');
    skip $Test::NgxWs::Strace::why_not, 4 unless $refuse;

    $log_before = length $ngx->error_log;
    $ngx->signal('HUP');
    ok(wait_for(sub {
           substr($ngx->error_log, $log_before)
               =~ /ws_io_uring: the kernel gave no io_uring to this worker/
       }, 10),
       'a worker refused a ring says so');
    # the old worker, with its ring, no longer takes connections
    ok(wait_for(sub { !Test::NgxWs::Nginx::alive($worker) }, 10),
       'the old worker is gone');
    my $b = scrape();
    my $c = ws_connect(uri => '/ws');
    $c->send_text('still here');
    my $m = $c->read_message(10);
    is($m && $m->{payload}, 'still here', 'and echoes all the same');
    $c->send_close(1000);
    my $a = scrape();
    is(($a->{ngx_ws_io_uring_writes_total} // 0)
           - ($b->{ngx_ws_io_uring_writes_total} // 0), 0,
       'with send(), not the ring');
    $refuse->stop;
}

# the alert the refused submissions gave, and no other
check_logs($ngx, undef, allow => qr/ws_io_uring: io_uring_enter\(\) failed/);

# --- ws_io_uring off ----------------------------------------------------
{
    my $off = start_nginx(name => 'ws_io_uring off',
        http_config => "ws_zone ring 1m;\n    ws_io_uring off;",
        config => <<'CONF');
    location /ws { ws_listen; ws_echo on; }
    location = /metrics { ws_status; }
CONF
    my $c = ws_connect(uri => '/ws');
    $c->send_text('plain');
    my $m = $c->read_message(10);
    is($m && $m->{payload}, 'plain', 'off: echoes');
    $c->send_close(1000);
    my $metrics = scrape();
    is($metrics->{ngx_ws_io_uring_writes_total}, 0, 'off: no write through a ring');
    $off->stop;
}

# --- nginx -t -------------------------------------------------------------
{
    my ($rc, $out) = nginx_check_config(dir => '117-bad-value',
        http => "ws_io_uring maybe;");
    isnt($rc, 0, 'ws_io_uring maybe: refused');
    like($out, qr/invalid value "maybe" in "ws_io_uring" directive.*nginx\.conf:\d+/,
         'the message names the directive and its line');

    ($rc, $out) = nginx_check_config(dir => '117-in-location',
        location => "ws_listen; ws_io_uring on;");
    isnt($rc, 0, 'ws_io_uring in a location: refused');
    like($out, qr/"ws_io_uring" directive is not allowed here in .*nginx\.conf:\d+/,
         'the message names the directive and its line');
}

done_testing();
