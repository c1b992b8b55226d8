# ws_status and ws_health against two workers: every counter moves by
# exactly what the test clients did (and no other counter moves), the text
# passes Debian's `promtool check metrics`, the JSON form says the same,
# totals survive a reload, readiness turns 503 over max_connections, and
# `nginx -t` refuses the bad forms with a message naming the directive.
use Test::NgxWs;
use Test::More;
use JSON::PP;
use File::Path qw(make_path remove_tree);

my $ngx = start_nginx(name => 'metrics', log_level => 'info',
    main_config => 'worker_processes 2;', listen_options => 'reuseport',
    http_config => 'ws_zone metrics 1m;', config => <<'CONF');
    location = /echo { ws_listen; ws_echo on; }
    location = /idle { ws_listen; ws_idle_timeout 300ms; }
    location = /ping { ws_listen; ws_ping_interval 300ms; ws_ping_max_missed 1; }
    location = /denied { ws_listen; deny all; }
    location ~ "^/chat/(?<room>\w+)$" {
        ws_listen;
        ws_subscribe room:$room;
        ws_publish room:$room;
        add_header X-WS-Connection-Id $ws_connection_id always;
    }
    location ~ "^/pub/(?<ch>[\w:]+)$" { ws_publisher $ch; }
    location = /metrics { ws_status; }
    location = /healthz { ws_health live; }
    location = /readyz { ws_health ready max_connections=3; }
CONF

my $CHAT = 'location="^/chat/(?<room>\\\\w+)$"';   # as escaped in a label

sub get {
    my ($uri, $headers) = @_;
    return http_request(raw => "GET $uri HTTP/1.1\r\nHost: localhost\r\n"
                               . ($headers // '') . "Connection: close\r\n\r\n");
}

sub post {
    my ($uri, $body) = @_;
    return http_request(raw => "POST $uri HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\nContent-Length: " . length($body) . "\r\n\r\n$body");
}

sub scrape {
    my $res = get('/metrics');
    my %m = (_text => $res->{body}, _type => $res->{header}{'content-type'});
    for (split /\n/, $res->{body}) {
        next if /^#/;
        $m{$1} = $2 if /^(\S+) (\S+)$/;
    }
    return \%m;
}

sub key {
    my ($name, $labels) = @_;
    return $labels ? "$name\{$labels}" : $name;
}

# A missing series must fail a check, never read as 0 (undef == 0 holds in
# Perl). value_is and moved_by are for wait_for: false when the series is
# absent. A series that appears on first use (labels by location, close
# code or channel class) counts from 0 before it appears, not after.
sub value_is {
    my ($m, $k, $want) = @_;
    return defined $m->{$k} && $m->{$k} == $want;
}

sub moved {
    my ($before, $after, $k) = @_;
    return undef unless defined $after->{$k};
    return $after->{$k} - ($before->{$k} // 0);
}

sub moved_by {
    my ($before, $after, $k, $n) = @_;
    my $d = moved($before, $after, $k);
    return defined $d && $d == $n;
}

# The value of a series the test goes on to compute with; dies (failing
# the file) when the exposition lacks it.
sub series {
    my ($m, $k) = @_;
    die "the exposition has no series $k\n" unless defined $m->{$k};
    return $m->{$k};
}

# The counters whose values must be exactly as wanted; everything not
# named must stay where it was (gauges of the zone, of the workers, their
# descriptors, connections and spare blocks, and histogram buckets
# aside).
sub moved_exactly {
    my ($before, $after, $want, $name, @loose) = @_;
    my %delta;
    # a series that was there and is gone is a change too
    # (a worker's own gauges go with the worker)
    for my $k (grep { !/^_|^ngx_ws_worker_/ && !exists $after->{$_} } keys %$before) {
        $delta{$k} = 'gone';
    }
    for my $k (keys %$after) {
        # how writes reach the kernel (ws_io_uring) is t/117's business,
        # the spare blocks t/118's
        next if $k =~ /^_|^ngx_ws_(zone_|workers|worker_(descriptors|connections|spare_block)|io_uring_)|_bucket\{|_sum$/;
        next if grep { $k eq $_ } @loose;
        my $d = $after->{$k} - ($before->{$k} // 0);
        $delta{$k} = $d if $d;
    }
    my %want = map { $_ => $want->{$_} } grep { $want->{$_} } keys %$want;
    is_deeply(\%delta, \%want, "$name: counters moved by exactly this")
        or diag(explain(\%delta));
}

sub frame_len { my ($payload_len, $masked) = @_;
    return ($payload_len < 126 ? 2 : 4) + ($masked ? 4 : 0) + $payload_len }

my $LOC_ECHO = 'server="localhost",location="/echo"';

# ---- echo: messages, bytes, pongs, close by the client --------------------
my $b = scrape();
like($b->{_type}, qr{^text/plain; version=0\.0\.4}, 'Prometheus text exposition 0.0.4');

my $ws = ws_connect(uri => '/echo');
$ws->send_text('hello');
$ws->expect('text hello', 'echo text');
$ws->send_binary("\x00\x01\x02");
$ws->expect('binary_hex 000102', 'echo binary');
$ws->send_pong('p');
$ws->send_text('x' x 200);
$ws->expect('text ' . ('x' x 200), 'echo 200 bytes');

my $open = scrape();
is($open->{key('ngx_ws_connections', $LOC_ECHO)}, 1, 'gauge: one connection open on /echo');

$ws->send_close(1000);
my $close = $ws->read_message;
is($close->{code}, 1000, 'server answers the close');
ok(wait_for(sub { value_is(scrape(), key('ngx_ws_connections', $LOC_ECHO), 0) }, 5),
   'gauge back to 0 after the close');

moved_exactly($b, scrape(), {
    key('ngx_ws_connections_opened_total', $LOC_ECHO) => 1,
    key('ngx_ws_handshakes_total', 'status="101"') => 1,
    key('ngx_ws_messages_total', 'direction="in",opcode="text"') => 2,
    key('ngx_ws_messages_total', 'direction="in",opcode="binary"') => 1,
    key('ngx_ws_messages_total', 'direction="out",opcode="text"') => 2,
    key('ngx_ws_messages_total', 'direction="out",opcode="binary"') => 1,
    key('ngx_ws_bytes_total', 'direction="in"') =>
        frame_len(5, 1) + frame_len(3, 1) + frame_len(1, 1) + frame_len(200, 1)
        + frame_len(2, 1),
    key('ngx_ws_bytes_total', 'direction="out"') =>
        frame_len(5) + frame_len(3) + frame_len(200) + frame_len(length $close->{payload}),
    'ngx_ws_pongs_received_total' => 1,
    key('ngx_ws_closes_total', 'code="1000",by="client"') => 1,
    'ngx_ws_send_delay_seconds_count' => 3,
}, 'echo');

# ---- handshakes refused: ours (426, 405) and NGINX's own (403) ------------
$b = scrape();
is(get('/echo')->{status}, 426, 'plain GET: 426');
is(http_request(raw => "POST /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                       . "Content-Length: 0\r\n\r\n")->{status}, 405, 'POST: 405');
is(ws_handshake_answer(uri => '/echo', headers => "Sec-WebSocket-Version: 8\n")->{status}, 426,
   'upgrade with version 8: 426');
is(ws_handshake_answer(uri => '/denied')->{status}, 403, 'upgrade where deny all: 403');
ok(wait_for(sub { moved_by($b, scrape(), key('ngx_ws_handshakes_total', 'status="403"'), 1) }, 5),
   'the 403 of deny is counted (log phase)');
wait_for(sub { moved_by($b, scrape(), key('ngx_ws_handshakes_total', 'status="426"'), 2) }, 5);
wait_for(sub { moved_by($b, scrape(), key('ngx_ws_handshakes_total', 'status="405"'), 1) }, 5);
moved_exactly($b, scrape(), {
    key('ngx_ws_handshakes_total', 'status="426"') => 2,
    key('ngx_ws_handshakes_total', 'status="405"') => 1,
    key('ngx_ws_handshakes_total', 'status="403"') => 1,
}, 'refused handshakes');

# ---- frames rejected: protocol error (unmasked), invalid UTF-8 -----------
$b = scrape();
$ws = ws_connect(uri => '/echo', no_close_reply => 1);
$ws->send_frame(op => 1, mask => 0, payload => 'x');
my $c1 = $ws->read_message;
is($c1->{code}, 1002, 'unmasked frame: close 1002');
$ws->expect_eof('after 1002', 1);
$ws = ws_connect(uri => '/echo', no_close_reply => 1);
$ws->send_dsl('text_hex ff');
my $c2 = $ws->read_message;
is($c2->{code}, 1007, 'invalid UTF-8: close 1007');
$ws->expect_eof('after 1007', 1);
ok(wait_for(sub { value_is(scrape(), key('ngx_ws_connections', $LOC_ECHO), 0) }, 5), 'both ended');
moved_exactly($b, scrape(), {
    key('ngx_ws_connections_opened_total', $LOC_ECHO) => 2,
    key('ngx_ws_handshakes_total', 'status="101"') => 2,
    key('ngx_ws_frames_rejected_total', 'reason="protocol_error"') => 1,
    key('ngx_ws_frames_rejected_total', 'reason="invalid_utf8"') => 1,
    key('ngx_ws_closes_total', 'code="1002",by="server"') => 1,
    key('ngx_ws_closes_total', 'code="1007",by="server"') => 1,
    key('ngx_ws_bytes_total', 'direction="in"') => frame_len(1) + frame_len(1, 1),
    key('ngx_ws_bytes_total', 'direction="out"') =>
        frame_len(length $c1->{payload}) + frame_len(length $c2->{payload}),
}, 'rejected frames');

# ---- the TCP connection ends without a close frame: 1006, by nobody -------
$b = scrape();
$ws = ws_connect(uri => '/echo');
$ws->disconnect;
ok(wait_for(sub { value_is(scrape(), key('ngx_ws_connections', $LOC_ECHO), 0) }, 5), 'dropped');
moved_exactly($b, scrape(), {
    key('ngx_ws_connections_opened_total', $LOC_ECHO) => 1,
    key('ngx_ws_handshakes_total', 'status="101"') => 1,
    key('ngx_ws_closes_total', 'code="1006",by="none"') => 1,
}, 'no close frame');

# ---- the server closes: idle timeout, missed pings -----------------------
$b = scrape();
$ws = ws_connect(uri => '/idle');
my $idle = $ws->read_message;
is($idle->{code}, 1001, 'idle: close 1001');
$ws->expect_eof('after the idle close', 1);
my $pinged = ws_connect(uri => '/ping');
my $ping = $pinged->read_message;
is($ping->{op}, 'ping', 'a ping comes');
my $gone = $pinged->read_message;
is($gone->{code}, 1001, 'no pong: close 1001');
$pinged->expect_eof('after the ping close', 1);
my $LOC_IDLE = 'server="localhost",location="/idle"';
my $LOC_PING = 'server="localhost",location="/ping"';
ok(wait_for(sub { my $m = scrape();
                  value_is($m, key('ngx_ws_connections', $LOC_IDLE), 0)
                  && value_is($m, key('ngx_ws_connections', $LOC_PING), 0) }, 5), 'both ended');
moved_exactly($b, scrape(), {
    key('ngx_ws_connections', $LOC_IDLE) => 0,
    key('ngx_ws_connections_opened_total', $LOC_IDLE) => 1,
    key('ngx_ws_connections_opened_total', $LOC_PING) => 1,
    key('ngx_ws_handshakes_total', 'status="101"') => 2,
    'ngx_ws_idle_timeouts_total' => 1,
    'ngx_ws_pings_sent_total' => 1,
    'ngx_ws_ping_timeouts_total' => 1,
    key('ngx_ws_closes_total', 'code="1001",by="server"') => 2,
    key('ngx_ws_bytes_total', 'direction="in"') => 2 * frame_len(2, 1),
    key('ngx_ws_bytes_total', 'direction="out"') =>
        frame_len(length $idle->{payload}) + frame_len(length $ping->{payload})
        + frame_len(length $gone->{payload}),
}, 'server closes');

# ---- channels: publishes, fan-out, direct messages, top channels ----------
$b = scrape();
my $alice = ws_connect(uri => '/chat/lobby');
my $bob = ws_connect(uri => '/chat/lobby');
my $bob_id = $bob->{response}{header}{'x-ws-connection-id'};
$alice->send_text('hi');
$alice->expect('text hi', 'alice gets her message');
$bob->expect('text hi', 'bob gets it');
like(post('/pub/room:lobby', 'news')->{body}, qr/"subscribers":2/, 'HTTP publish');
$alice->expect('text news', 'alice gets the publish');
$bob->expect('text news', 'bob gets the publish');
is(post("/pub/conn:$bob_id", 'direct')->{status}, 202, 'direct publish');
$bob->expect('text direct', 'bob gets the direct message');

my $json = decode_json(get('/metrics?format=json')->{body});
is_deeply($json->{channels}{top}[0], { channel => 'room:lobby', subscribers => 2, seq => 2 },
          'JSON: room:lobby is the top channel');
is_deeply($json->{channel_classes}{room}, { publishes => 2, deliveries => 4 },
          'JSON: publishes and deliveries of the room class');

my @closes;
for my $c ($alice, $bob) {
    $c->send_close(1000);
    push @closes, $c->read_message;
}
ok(wait_for(sub { value_is(scrape(), key('ngx_ws_connections', "server=\"localhost\",$CHAT"), 0) }, 5),
   'chat clients ended');
my $a = scrape();
my $delay = moved($b, $a, 'ngx_ws_publish_delay_seconds_count');
ok(defined $delay && $delay >= 3 && $delay <= 5,
   "publish delay observed once per message and worker with subscribers ($delay)");
moved_exactly($b, $a, {
    key('ngx_ws_connections_opened_total', "server=\"localhost\",$CHAT") => 2,
    key('ngx_ws_handshakes_total', 'status="101"') => 2,
    key('ngx_ws_publishes_total', 'kind="channel",result="ok"') => 2,
    key('ngx_ws_publishes_total', 'kind="direct",result="ok"') => 1,
    'ngx_ws_deliveries_total' => 5,
    # alice's message and the HTTP publish go to room:lobby, the direct one
    # to conn:<id>: by class, room 2 published and 4 delivered, conn 1 and 1
    key('ngx_ws_channel_publishes_total', 'class="room"') => 2,
    key('ngx_ws_channel_deliveries_total', 'class="room"') => 4,
    key('ngx_ws_channel_publishes_total', 'class="conn"') => 1,
    key('ngx_ws_channel_deliveries_total', 'class="conn"') => 1,
    'ngx_ws_channels' => 1,
    key('ngx_ws_messages_total', 'direction="in",opcode="text"') => 1,
    key('ngx_ws_messages_total', 'direction="out",opcode="text"') => 5,
    'ngx_ws_send_delay_seconds_count' => 5,
    key('ngx_ws_closes_total', 'code="1000",by="client"') => 2,
    key('ngx_ws_bytes_total', 'direction="in"') => frame_len(2, 1) + 2 * frame_len(2, 1),
    key('ngx_ws_bytes_total', 'direction="out"') =>
        2 * frame_len(2) + 2 * frame_len(4) + frame_len(6)
        + frame_len(length $closes[0]{payload}) + frame_len(length $closes[1]{payload}),
}, 'channels', 'ngx_ws_publish_delay_seconds_count');

# ---- JSON says what the text says ------------------------------------------
my $text = scrape();
for my $req (['/metrics?format=json', ''], ['/metrics', "Accept: application/json\r\n"]) {
    my $res = get(@$req);
    is($res->{header}{'content-type'}, 'application/json',
       'JSON for ' . ($req->[1] ? 'Accept: application/json' : $req->[0]));
    my $j = decode_json($res->{body});
    is($j->{messages}{in}{text},
       series($text, key('ngx_ws_messages_total', 'direction="in",opcode="text"')), 'same messages in');
    is($j->{handshakes}{101}, series($text, key('ngx_ws_handshakes_total', 'status="101"')),
       'same 101 count');
    my ($c1000) = grep { $_->{code} eq '1000' && $_->{by} eq 'client' } @{$j->{closes}};
    is($c1000->{count}, series($text, key('ngx_ws_closes_total', 'code="1000",by="client"')),
       'same closes');
    is($j->{zone}{size}, 1048576, 'zone size');
    is($j->{zone}{used} + $j->{zone}{free}, $j->{zone}{size}, 'zone used + free = size');
    is($j->{connections}, 0, 'no connection open');
}

# ---- promtool accepts the exposition ---------------------------------------
SKIP: {
    skip 'promtool (Debian prometheus) is not installed', 1 unless -x '/usr/bin/promtool';
    my $file = $ngx->{prefix} . '/metrics.txt';
    open my $fh, '>', $file or die $!;
    print $fh $text->{_text};
    close $fh;
    my $out = `promtool check metrics < $file 2>&1`;
    is($? >> 8, 0, 'promtool check metrics: no problems') or diag($out);
}

# ---- health ------------------------------------------------------------------
my $live = get('/healthz');
is($live->{status}, 200, 'liveness: 200');
is(decode_json($live->{body})->{status}, 'live', 'liveness JSON');
my $ready = get('/readyz');
is($ready->{status}, 200, 'readiness: 200 under max_connections');
is(decode_json($ready->{body})->{checks}{zone}{ok}, JSON::PP::true, 'zone check passes');
my @conns = map { ws_connect(uri => '/echo') } 1 .. 3;
ok(wait_for(sub { get('/readyz')->{status} == 503 }, 5), 'readiness: 503 at max_connections=3');
my $detail = decode_json(get('/readyz')->{body});
is_deeply([$detail->{status}, $detail->{checks}{connections}],
          ['not ready', { ok => JSON::PP::false, open => 3, max => 3 }], '503 says why');
$_->disconnect for @conns;
ok(wait_for(sub { get('/readyz')->{status} == 200 }, 5), 'ready again below the mark');
is(http_request(raw => "DELETE /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
   ->{status}, 405, 'health: other methods 405');

# ---- totals survive a reload -------------------------------------------------
$b = scrape();
$ngx->signal('HUP');
ok(wait_for(sub { my @w = $ngx->workers;
                  @w == 2 && $ngx->error_log =~ /gracefully shutting down/ }, 10),
   'reloaded');
$ws = ws_connect(uri => '/echo');
$ws->send_close(1000);
$ws->read_message;
ok(wait_for(sub { value_is(scrape(), key('ngx_ws_connections', $LOC_ECHO), 0) }, 5), 'ended');
moved_exactly($b, scrape(), {
    key('ngx_ws_connections_opened_total', $LOC_ECHO) => 1,
    key('ngx_ws_handshakes_total', 'status="101"') => 1,
    key('ngx_ws_closes_total', 'code="1000",by="client"') => 1,
    key('ngx_ws_bytes_total', 'direction="in"') => frame_len(2, 1),
    key('ngx_ws_bytes_total', 'direction="out"') => frame_len(2),
}, 'after a reload: earlier totals kept, new ones added');

check_logs($ngx);

# ---- slow consumers and back-pressure (one worker, small buffers) ----------
$ngx = start_nginx(name => 'slow consumers', log_level => 'info',
    listen_options => 'sndbuf=4k', http_config => 'ws_zone metrics 8m;',
    config => <<'CONF');
    location = /drop { ws_listen; ws_subscribe news; ws_send_buffer 4k; ws_slow_consumer drop; }
    location = /close { ws_listen; ws_subscribe news; ws_send_buffer 4k; }
    location = /pub { ws_listen; ws_publish news; }
    location = /echo { ws_listen; ws_echo on; ws_send_buffer 16k; }
    location = /metrics { ws_status; }
CONF

$b = scrape();
my $dropper = ws_connect(uri => '/drop', rcvbuf => 4096);
my $closer = ws_connect(uri => '/close', rcvbuf => 4096, no_close_reply => 1);
my $publisher = ws_connect(uri => '/pub');
my $N = 1000;
# 1 MB in all: the zone holds every message even if the worker drains its
# queue late (as under AddressSanitizer)
$publisher->send_text('y' x 1000) for 1 .. $N;
ok(wait_for(sub { moved_by($b, scrape(), key('ngx_ws_publishes_total', 'kind="channel",result="ok"'), $N) }, 10),
   "$N publishes counted");
ok(wait_for(sub { my $m = scrape(); value_is($m, 'ngx_ws_worker_queue_messages', 0)
                  && value_is($m, 'ngx_ws_slow_consumer_closes_total', 1) }, 10),
   'all fanned out, the closing subscriber closed');
my $m = scrape();
my $drops = series($m, 'ngx_ws_slow_consumer_drops_total') - series($b, 'ngx_ws_slow_consumer_drops_total');
my $delivered = series($m, 'ngx_ws_deliveries_total') - series($b, 'ngx_ws_deliveries_total');
my $lost = series($m, 'ngx_ws_worker_queue_dropped_total') - series($b, 'ngx_ws_worker_queue_dropped_total');
cmp_ok($drops, '>', 0, "the drop subscriber lost messages ($drops)");
my $closer_got = 0;
while (my $msg = eval { $closer->read_message(3) }) {
    last if $msg->{op} eq 'close';
    $closer_got++;
}
# every message reached the drop subscriber or was dropped for it; the
# closing one took what fit, then was not a subscriber any more
is($delivered + $drops + $lost - $closer_got, $N,
   "deliveries + drops = publishes for the drop subscriber ($delivered + $drops - $closer_got)");
ok(wait_for(sub { value_is(scrape(), key('ngx_ws_closes_total', 'code="1008",by="server"'), 1) }, 5),
   'the slow consumer closed with 1008 is counted');
$dropper->disconnect;
$publisher->disconnect;

# an echo client that never reads: reading from it pauses once
$b = scrape();
my $hog = ws_connect(uri => '/echo', rcvbuf => 4096);
$hog->{sock}->blocking(0);
my $frame = Test::NgxWs::Client::encode_frame(op => 2, payload => 'z' x 4096);
my ($pending, $stalled) = ('', 0);
for (1 .. 4000) {
    $pending = $frame unless length $pending;
    my $n = syswrite($hog->{sock}, $pending);
    if ($n) { substr($pending, 0, $n, ''); $stalled = 0; next }
    last if ++$stalled > 20;
    select(undef, undef, undef, 0.05);
}
ok(wait_for(sub { moved_by($b, scrape(), 'ngx_ws_backpressure_pauses_total', 1) }, 5),
   'back-pressure: exactly one pause while the client does not read');
$hog->disconnect;
check_logs($ngx);

# ---- a worker that dies with open connections leaves no ghost in the gauge -
$ngx = start_nginx(name => 'crash', log_level => 'info',
    http_config => 'ws_zone metrics 1m;', config => <<'CONF');
    location = /echo { ws_listen; ws_echo on; }
    location = /metrics { ws_status; }
CONF
my @held = map { ws_connect(uri => '/echo') } 1 .. 2;
is(scrape()->{key('ngx_ws_connections', $LOC_ECHO)}, 2, 'two connections open');
my ($victim) = $ngx->workers;
kill 'KILL', $victim;
ok(wait_for(sub { my @w = $ngx->workers; @w == 1 && $w[0] != $victim }, 10),
   'the master replaced the killed worker');
$m = scrape();
is($m->{key('ngx_ws_connections', $LOC_ECHO)}, 0,
   'its connections left the gauge when its slot was taken over');
is($m->{key('ngx_ws_connections_opened_total', $LOC_ECHO)}, 2, 'its totals stay');
$ngx->stop;    # the error log has the crash alert, on purpose

# ---- nginx -t ----------------------------------------------------------------

sub nginx_t {
    my ($location, $http) = @_;
    return nginx_check_config(dir => '020-metrics-conf', location => $location,
                              http => $http);
}

for my $good (['ws_status;', 'ws_zone z 1m;'], ['ws_health live;'],
              ['ws_health ready;', 'ws_zone z 1m;'],
              ['ws_health ready max_connections=10000 min_zone_free=64k;', 'ws_zone z 1m;']) {
    my ($rc, $out) = nginx_t(@$good);
    is($rc, 0, "nginx -t accepts: $good->[0]") or diag($out);
}

for my $bad (
    ['ws_status;', undef, qr/"ws_status" or "ws_health ready" in .*nginx\.conf:\d+ needs a "ws_zone"/],
    ['ws_health ready;', undef, qr/needs a "ws_zone"/],
    ['ws_health maybe;', undef, qr/invalid value "maybe" in "ws_health"/],
    ['ws_health live max_connections=1;', undef, qr/"ws_health live" takes no parameters/],
    ['ws_health ready max_connections=0;', 'ws_zone z 1m;',
     qr/invalid parameter "max_connections=0" in "ws_health"/],
    ['ws_health ready min_zone_free=lots;', 'ws_zone z 1m;',
     qr/invalid parameter "min_zone_free=lots" in "ws_health"/],
    ['ws_status; ws_status;', 'ws_zone z 1m;', qr/"ws_status" directive is duplicate/],
    ['ws_listen; ws_status;', 'ws_zone z 1m;', qr/"ws_status" directive conflicts with another content handler/],
    ['ws_status x;', 'ws_zone z 1m;', qr/invalid number of arguments in "ws_status"/],
) {
    my ($rc, $out) = nginx_t($bad->[0], $bad->[1]);
    isnt($rc, 0, "nginx -t refuses: $bad->[0]");
    like($out, $bad->[2], "and says why: $bad->[0]");
}

done_testing();
