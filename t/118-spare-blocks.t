# A worker keeps the blocks it freed (frames, queue entries, write
# records) for its next messages, as many as were alive at once, and gives
# them back once they go unused: ngx_ws_worker_spare_block_bytes shows
# what it keeps. A reader that does not read while 2,000 replies of 1,000
# bytes queue up (NGINX's socket buffer pinned at 16 KiB, so the replies
# wait in the worker) leaves about 2 MiB of spare blocks once it has read
# them all; with nothing sent after that they are back in the heap within
# two decay periods (10 s each).
use Test::NgxWs;
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep time);

my $port = test_port();
my $messages = 2000;
my $size = 1000;
# the old fixed cap of frames: 128 blocks of 4 KiB, 512 KiB for this size
my $old_cap = 128 * 4096;
# a reply's frame block (1,088 bytes) and its queue entry, and a few
# write records
my $per_reply = 1088 + 64;

my $ngx = start_nginx(name => 'spare blocks',
    listen_options => 'sndbuf=16k',
    http_config => "ws_zone cache 1m;",
    config => <<'CONF');
    location /ws { ws_listen; ws_echo on; ws_send_buffer 64m; }
    location = /metrics { ws_status; }
CONF

my ($worker) = $ngx->workers(1);
ok($worker, 'one worker');
my $gauge = "ngx_ws_worker_spare_block_bytes{pid=\"$worker\"}";

sub cached { scrape_metrics()->{$gauge} }

is(cached(), 0, 'no spare blocks before any message');

my $reader = ws_connect(uri => '/ws', rcvbuf => 4096);
my @payloads = map { pack('N', $_) . chr(97 + $_ % 26) x ($size - 4) }
    1 .. $messages;
$reader->send_binary($_) for @payloads;

# the replies queue in the worker while the client does not read: every
# message read means every reply made (and, unread, still queued)
my $read_in = 'ngx_ws_messages_total{direction="in",opcode="binary"}';
ok(wait_for(sub { (scrape_metrics()->{$read_in} // 0) >= $messages }, 10),
   "the worker read all $messages messages before the client read a reply");

my $in_order = 0;
for my $p (@payloads) {
    my $m = $reader->read_message(10);
    last unless $m && $m->{payload} eq $p;
    $in_order++;
}
is($in_order, $messages, 'every reply read whole and in order');

# the gauge is refreshed once a second
my $peak = 0;
ok(wait_for(sub { ($peak = cached() // 0) > 2 * $old_cap }, 5),
   "the freed replies are kept: $peak bytes, past the old cap of $old_cap");
ok($peak <= $messages * $per_reply + 65536,
   "no more than a reply's blocks per reply ($peak bytes for $messages replies)");

# the JSON answer carries the same figure in the worker's capacity object
my $json = decode_json(http_request(raw => "GET /metrics?format=json HTTP/1.1\r\n"
    . "Host: localhost\r\nConnection: close\r\n\r\n")->{body});
my ($mine) = grep { $_->{pid} == $worker } @{ $json->{capacity} // [] };
ok($mine && $mine->{spare_block_bytes} > 2 * $old_cap,
   'JSON: capacity[].spare_block_bytes ' . ($mine ? $mine->{spare_block_bytes} : 'absent'));

my $t0 = time;
my $left;
ok(wait_for(sub { sleep 0.25; ($left = cached() // -1) == 0 }, 35),
   sprintf('given back in %.0f s of quiet: %d bytes kept', time - $t0, $left));

$reader->send_close(1000);
my $again = ws_connect(uri => '/ws');
$again->send_text('still echoing');
my $m = $again->read_message(10);
is($m && $m->{payload}, 'still echoing', 'and the worker echoes from the heap again');
$again->send_close(1000);

$ngx->stop;
check_logs($ngx);
done_testing();
