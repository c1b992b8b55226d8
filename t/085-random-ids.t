# Trace and span ids come from OpenSSL's generator drawn 4 KiB at a time
# and handed out in order (ngx_http_ws_random.c): across many sessions
# and past a refill of that buffer, in two workers, no id repeats and
# none is all zeros. A buffer handed out twice, not advanced, or shared
# by the workers would repeat ids here.
use Test::NgxWs;
use Test::More;

my $port = test_port();

# 24 bytes per started trace (16 + 8): 400 requests draw 9,600 bytes,
# more than two fills of the buffer between the two workers.
my $REQUESTS = 400;

my $ngx = start_nginx(
    name => 'random-ids', log_level => 'info',
    main_config => 'worker_processes 2;',
    listen_options => 'reuseport',
    http_config => <<'CONF',
    log_format ids 'pid=$pid trace=$ws_trace_id span=$ws_span_id';
    access_log logs/access.log ids;
CONF
    config => <<'CONF');
    location = /plain { return 204; }
    location = /ws { ws_listen; ws_echo on; }
CONF

for (1 .. $REQUESTS) {
    my $res = http_request(port => $port,
                           raw => "GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    die "request failed: $res->{error}" unless $res->{status} == 204;
}

# a WebSocket session draws from the same buffer
my $ws = ws_connect(port => $port, uri => '/ws');
$ws->send_text('x');
is($ws->read_message->{payload}, 'x', 'a WebSocket session between them echoes');
$ws->send_close(1000);
$ws->read_message;
$ws->disconnect;

ok(wait_for(sub { (() = $ngx->access_log =~ /^pid=/mg) == $REQUESTS + 1 }, 5),
   'every request and the session logged');

my (%traces, %spans, %pids);
my $bad = 0;
for my $line (split /\n/, $ngx->access_log) {
    my ($pid, $trace, $span) = $line =~ /^pid=(\d+) trace=(\S+) span=(\S+)$/ or next;
    $pids{$pid}++;
    $bad++ unless $trace =~ /^[0-9a-f]{32}$/ && $span =~ /^[0-9a-f]{16}$/;
    $bad++ if $trace =~ /^0+$/ || $span =~ /^0+$/;
    $traces{$trace}++;
    $spans{$span}++;
}

is($bad, 0, 'every id well formed and not all zeros');
is(scalar keys %traces, $REQUESTS + 1, 'no trace id repeats');
is(scalar keys %spans, $REQUESTS + 1, 'no span id repeats');
is(scalar keys %pids, 2, 'both workers drew ids');

check_logs($ngx);
done_testing();
