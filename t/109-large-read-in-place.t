# The rest of a large frame's payload is read straight into the core's
# reassembly buffer, in reads as large as what the frame has left, not
# through the worker's 64 KiB read buffer.
#
# Seen from outside through the worker's system calls (strace follows it
# while four 1 MiB messages are echoed one after another): through the
# 64 KiB buffer those take at least 65 reads of the socket, none asking for
# more than 64 KiB; read in place, a read asks for the rest of the frame
# (more than 64 KiB) and far fewer reads carry the messages. The echoes
# must be the messages, byte for byte, and the rules still hold for bytes
# read in place: invalid UTF-8 deep inside a large text frame, sent in
# pieces, closes with 1007.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::Strace;
use Time::HiRes qw(sleep);

my $messages = 4;
my $size = 1024 * 1024;

sub pattern {
    my ($n, $seed) = @_;
    my $block = join '', map { chr(($seed * 31 + $_ * 7) & 0xff) } 0 .. 250;
    return substr($block x (int($n / 251) + 1), 0, $n);
}

my $ngx = start_nginx(name => 'large read in place', config => <<'CONF');
    location /ws { ws_listen; ws_echo on; ws_max_message_size 4m; }
CONF

my $ws = ws_connect(uri => '/ws');
my ($worker) = $ngx->workers;
die "no worker\n" unless $worker;

my $trace = Test::NgxWs::Strace->follow($worker, 'read,readv,recvfrom,recvmsg')
    or plan skip_all => $Test::NgxWs::Strace::why_not;

for my $i (1 .. $messages) {
    my $payload = pattern($size, $i);
    $ws->send_binary($payload);
    my $m = $ws->read_message;
    ok($m && $m->{op} eq 'binary' && $m->{payload} eq $payload,
       "message $i: its echo, byte for byte");
}

# the worker's reads that brought bytes: how much each asked for
my @calls = $trace->stop;
my ($reads, $largest_ask, $bytes) = (0, 0, 0);
for (@calls) {
    # recvfrom(fd, "...", ask, flags, NULL, NULL) or read(fd, "...", ask)
    my ($ask, $n) = /^recvfrom\(\d+, .*, (\d+), \w+, NULL, NULL\)\s+=\s+(\d+)/;
    ($ask, $n) = /^read\(\d+, .*, (\d+)\)\s+=\s+(\d+)/ unless defined $n;
    next unless defined $n;
    next unless $n > 0;
    $reads++;
    $bytes += $n;
    $largest_ask = $ask if $ask > $largest_ask;
}
cmp_ok($bytes, '>=', $messages * $size, 'the messages were read')
    or diag join "\n", @calls;
cmp_ok($largest_ask, '>', 65536, 'a read asked for the rest of a frame');
cmp_ok($reads, '<', 65,
       'fewer reads than 64 KiB at a time would take');

# invalid UTF-8 in a large text frame, read in place in pieces: 1007
{
    my $text = 'a' x (600 * 1024);
    substr($text, 500 * 1024, 1) = "\xff";
    my $bytes = Test::NgxWs::Client::encode_frame(op => 1, payload => $text);
    for (my $at = 0; $at < length $bytes; $at += 100_000) {
        $ws->send_raw(substr($bytes, $at, 100_000));
        sleep 0.01;
    }
    $ws->expect('close 1007', 'invalid UTF-8 read in place');
}

check_logs($ngx);

done_testing();
