# Large messages through the proxy: streamed frame by frame both ways, so
# a 20 MB message each way leaves the worker's peak memory far below the
# message's size, also while one side stops reading (back-pressure stops
# the other side's reads); the message arrives intact, text and binary,
# fragmented or not.
use Test::NgxWs;
use Test::More;
use IPC::Open2 qw(open2);

my $port = test_port();
my $py = $port + 2;
my $raw = $port + 3;
my $root = repo_root();
# ASan keeps freed memory in quarantine (make asan sets this variable):
# the peak then grows with all that passed (40 MB here), not with what is
# held, and says nothing of streaming.
my $sanitized = $ENV{NGX_WS_SANITIZER_LOGS};
my $mb = 20 * 1024 * 1024;

my $pid = open2(my $out, my $in, '/usr/bin/python3',
                "$root/t/proxy/python_upstream.py", $py);
like(<$out> // '', qr/listening/, 'python websockets listens');
my $rawpid = open2(my $rout, my $rin, '/usr/bin/python3',
                   "$root/t/proxy/bad_upstream.py", $raw);
like(<$rout> // '', qr/listening/, 'the raw upstream listens');

my $config = <<CONF;
    location /py/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$py;
        ws_max_message_size 32m;
        ws_max_frame_size 32m;
        ws_send_buffer 1m;
    }
    location /raw/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$raw;
        ws_max_message_size 32m;
        ws_max_frame_size 32m;
    }
CONF

sub peak_kb {
    my ($pid) = @_;
    return Test::NgxWs::slurp("/proc/$pid/status") =~ /^VmHWM:\s+(\d+)/m
        ? $1 : undef;
}

sub big {
    my (@args) = @_;
    open my $fh, '-|', '/usr/bin/python3', "$root/t/proxy/big_message.py",
        @args or die "big_message.py: $!";
    my $line = <$fh> // '';
    close $fh;
    chomp $line;
    return $line;
}

my $url = "ws://127.0.0.1:$port/py/echo";

for my $case (['binary, one frame', []],
              ['binary, 20 fragments', ['--fragments', 20]],
              ['text, one frame', ['--text']],
              ['client reads only after 3 s', ['--read-delay', 3]]) {
    my ($name, $args) = @$case;
    # a worker of its own for each case: the peak is the process's
    my $ngx = start_nginx(name => $name, config => $config,
                          log_level => 'info');
    my ($worker) = $ngx->workers;
    is(big($url, 1000, @$args), 'ok 1000', "$name: a small message first");
    my $before = peak_kb($worker);
    my $res = big($url, $mb, @$args);
    is($res, "ok $mb", "$name: 20 MB each way, intact");
    my $grew = peak_kb($worker) - $before;
    SKIP: {
        skip "$name: no memory bound under the sanitizers", 1 if $sanitized;
        cmp_ok($grew, '<', 6 * 1024,
               "$name: the worker's peak memory grew by $grew KiB "
               . '(the message is 20,480 KiB)');
    }
    diag("$name: peak RSS growth $grew KiB");
    check_logs($ngx);
}

my $ngx = start_nginx(name => 'frames', config => $config,
                      log_level => 'info');

# the frames each side sees: the message is split as it arrives
{
    my $name = 'client to upstream';
    my $ws = ws_connect(uri => '/raw/frames');
    $ws->send_binary('x' x (2 * 1024 * 1024));
    my $m = $ws->read_message(20);
    my @sizes = split /,/, ($m ? $m->{payload} : '');
    my $total = 0;
    $total += $_ for @sizes;
    is($total, 2 * 1024 * 1024, "$name: all of a 2 MiB frame reached the upstream");
    cmp_ok(scalar @sizes, '>', 1, "$name: in " . scalar(@sizes) . ' frames');
    cmp_ok((sort { $b <=> $a } @sizes)[0], '<=', 65536,
           "$name: none larger than one read");
    $ws->send_close(1000);
    $ws->disconnect;
}

{
    my $name = 'upstream to client';
    my $ws = ws_connect(uri => '/py/echo');
    my $payload = Test::NgxWs::gen_payload('binary', 2 * 1024 * 1024);
    $ws->send_binary($payload);
    my (@frames, $got);
    while (my $f = $ws->read_frame(20)) {
        next if $f->{op} == 9 || $f->{op} == 10;
        push @frames, $f;
        $got .= $f->{payload};
        last if $f->{fin};
    }
    is($got, $payload, "$name: the 2 MiB echo arrives intact");
    cmp_ok(scalar @frames, '>', 1, "$name: in " . scalar(@frames) . ' frames');
    is($frames[0]{op}, 2, "$name: the first is binary");
    ok(!(grep { $_->{op} != 0 } @frames[1 .. $#frames]),
       "$name: the others continuations");
    $ws->send_close(1000);
    $ws->expect('close 1000', "$name: closed");
}

{
    my $name = 'small messages';
    my $ws = ws_connect(uri => '/py/echo');
    $ws->send_text('short');
    my $f = $ws->read_frame(5);
    ok($f && $f->{fin} && $f->{op} == 1 && $f->{payload} eq 'short',
       "$name: stay one frame");
    $ws->send_close(1000);
    $ws->expect('close 1000', "$name: closed");
}

check_logs($ngx);
kill 'TERM', $pid, $rawpid;
done_testing();
