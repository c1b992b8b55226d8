# An echo's lone reply (the last message of a read, nothing queued) is
# written straight from its frame, without a queue entry; what the socket
# does not take is queued from where the write stopped, with its own
# reference to the frame.
#
# Connection A sends 4,000-byte messages one at a time and never reads, so
# its replies fill the sockets and are then partly sent and queued; after
# each one, connection B has a message of its own, as long, echoed (from
# the same worker's frame cache). A then reads every reply: each must be
# its own message, whole, in order; a rest queued from the wrong offset
# breaks the stream.
use Test::NgxWs;
use Test::More;
use Socket qw(IPPROTO_TCP TCP_NODELAY);

my $messages = 1500;
my $size = 4000;

my $ngx = start_nginx(name => 'lone reply partly sent', config => <<'CONF');
    location /ws { ws_listen; ws_echo on; ws_send_buffer 64m; }
CONF

# a small receive window: A's replies soon stop fitting
my $a = ws_connect(uri => '/ws', rcvbuf => 8192);
my $b = ws_connect(uri => '/ws');
# each message a read of its own: Nagle would hold A's next message back
# until the ACK its last one waits for
setsockopt($_->{sock}, IPPROTO_TCP, TCP_NODELAY, 1) or die "TCP_NODELAY: $!"
    for $a, $b;

my @payloads = map { pack('N', $_) . chr(65 + $_ % 26) x ($size - 4) }
    1 .. $messages;

my $b_ok = 0;
for my $i (0 .. $#payloads) {
    $a->send_binary($payloads[$i]);

    my $other = pack('N', $i) . '.' x ($size - 4);
    $b->send_binary($other);
    my $m = $b->read_message;
    $b_ok++ if $m && $m->{payload} eq $other;
}
is($b_ok, $messages, 'every message of the other connection echoed');

my $a_ok = 0;
for my $i (0 .. $#payloads) {
    my $m = $a->read_message;
    last unless $m && $m->{payload} eq $payloads[$i];
    $a_ok++;
}
is($a_ok, $messages, 'every reply of the stalled connection whole, in order');

$a->send_close(1000);
$b->send_close(1000);

done_testing();
