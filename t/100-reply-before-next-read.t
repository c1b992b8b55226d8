# The replies to one read are written before the next connection is read:
# with many connections ready in one event-loop pass, each echo goes out
# from its read handler while it is still in the CPU's cache, not after
# every other connection's read (replies that all waited at once were
# copied cold by the kernel and outgrew the worker's frame cache).
#
# Seen from outside through the worker's system calls: the worker is
# stopped, a 16 KiB message is sent on each of 8 connections (all 8 are
# ready when it resumes, one epoll pass), strace follows it as it resumes,
# and the order of its 16 KiB reads and writes must alternate.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::Strace;

my $connections = 8;
my $size = 16 * 1024;

# the order of recv() and send() calls of a worker without a ring: with
# one (ws_io_uring), a pass's writes go together after its reads (t/117)
my $ngx = start_nginx(name => 'reply before next read', http_config => 'ws_io_uring off;',
                      config => <<'CONF');
    location /ws { ws_listen; ws_echo on; }
CONF

my @ws = map { ws_connect(uri => '/ws') } 1 .. $connections;
my ($worker) = $ngx->workers;
die "no worker\n" unless $worker;

kill 'STOP', $worker;

my @payloads = map { chr(ord('a') + $_) x $size } 1 .. $connections;
$ws[$_]->send_binary($payloads[$_]) for 0 .. $#ws;

my $trace = Test::NgxWs::Strace->follow($worker,
    'read,readv,recvfrom,recvmsg,write,writev,sendto,sendmsg');
kill 'CONT', $worker;
plan skip_all => $Test::NgxWs::Strace::why_not unless $trace;

for my $i (0 .. $#ws) {
    my $m = $ws[$i]->read_message;
    ok($m && $m->{payload} eq $payloads[$i], "connection $i: its echo");
}

# the worker's reads and writes of whole messages, in order, by socket
my @io;
for ($trace->stop) {
    my ($call, $fd, $n) = /^(\w+)\((\d+),.*\)\s+=\s+(\d+)/ or next;
    push @io, [$call =~ /^(read|recv)/ ? 'read' : 'write', $fd]
        if $n >= $size;
}
is(scalar(grep { $_->[0] eq 'read' } @io), $connections,
   'every message read') or diag explain \@io;
is(scalar(grep { $_->[0] eq 'write' } @io), $connections,
   'every reply written');

# each read is followed by the write to the same socket
my $pairs = 0;
for (my $k = 0; $k + 1 < @io; $k++) {
    $pairs++ if $io[$k][0] eq 'read' && $io[$k + 1][0] eq 'write'
        && $io[$k][1] == $io[$k + 1][1];
}
is($pairs, $connections, 'each reply written right after its read')
    or diag join ' ', map { "$_->[0]($_->[1])" } @io;

$_->send_close(1000) for @ws;
$_->expect('close 1000', 'closed') for @ws;
check_logs($ngx);

done_testing();
