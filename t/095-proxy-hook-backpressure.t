# Back-pressure of the message hook in a ws_proxy_pass location: while
# ws_backend_message_inflight calls wait for the backend, the client is
# not read (its bytes stay in TCP's buffers, the worker's memory does not
# grow with what it sends), and once the backend answers everything is
# relayed, in order. Real upstream: Python websockets answering
# "up:<message>"; real backend: Node's http (t/lib/message_backend.js),
# answering "re:<message>" to a message that is not an order.
use Test::NgxWs;
use Test::More;
use IPC::Open2 qw(open2);
use IO::Select;
use Errno qw(EAGAIN EWOULDBLOCK);
use Time::HiRes qw(time sleep);
use Test::NgxWs::MessageBackend;
use Test::NgxWs::HookConfig;

my $port = test_port();
my $nport = $port + 1;
my $up = $port + 2;
my $root = repo_root();

Test::NgxWs::MessageBackend->start(port => $nport);
my $uppid = open2(my $uout, my $uin, '/usr/bin/python3',
                  "$root/t/proxy/tag_upstream.py", $up);
like(<$uout> // '', qr/listening/, 'the upstream app listens');

# the 64 kB answers need the larger buffer
my $hook = message_backend_location('/internal/node', '10s',
                                    'subrequest_output_buffer_size 128k;');
my $ngx = start_nginx(name => 'proxy hook back-pressure',
                      http_config => hooks_http_config(port => $nport),
                      config => <<CONF);
    location /app/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$up;
        ws_max_message_size 1m;
        ws_send_buffer 1m;
        ws_backend_message /internal/node;
        ws_backend_message_inflight 1;
    }
$hook
CONF

my $ws = ws_connect(uri => '/app/flood');
my $sock = $ws->{sock};

# the one call allowed in flight: answered after 2 s
$ws->send_text(order(status => 200, body => 'first', delay_ms => 2000));

# then as much as the connection takes within 1 s, 64 kB messages
my $size = 65536;
my $limit = 64 * 1024 * 1024;
$sock->blocking(0);
my ($written, $frames, $pending) = (0, 0, '');
my $until = time + 1;
while (time < $until && $written < $limit) {
    if ($pending eq '') {
        $pending = Test::NgxWs::Client::encode_frame(
            op => 1, payload => sprintf('%06d', $frames) . 'x' x ($size - 6));
        $frames++;
    }
    my $n = syswrite($sock, $pending);
    if (!defined $n) {
        die "write: $!\n" unless $! == EAGAIN || $! == EWOULDBLOCK;
        IO::Select->new($sock)->can_write(0.05);
        next;
    }
    $written += $n;
    substr($pending, 0, $n, '');
}
$sock->blocking(1);
print {$sock} $pending if $pending ne '';    # the last frame whole
$written += length $pending;

diag(sprintf('%.1f MB taken while the call was in flight, %d messages',
             $written / 1e6, $frames));
cmp_ok($written, '<', 16 * 1024 * 1024,
       'the client is not read while the in-flight call waits');
cmp_ok($frames, '>', 1, 'some messages beyond the first were sent');

$ws->expect('text up:first', 'the first answer, relayed after 2 s');
my ($in_order, $got) = (1, 0);
for my $i (0 .. $frames - 1) {
    my $m = $ws->read_message(20) or last;
    my $want = sprintf('up:re:%06d', $i);
    $in_order = 0 unless $m->{op} eq 'text'
        && substr($m->{payload}, 0, length $want) eq $want
        && length($m->{payload}) == $size + 6;
    $got++;
}
is($got, $frames, 'every message was read once the backend answered');
ok($in_order, 'each through the backend and the upstream, in order');

$ws->send_close(1000);
$ws->expect('close 1000', 'closed');

check_logs($ngx);
kill 'TERM', $uppid;
done_testing();
