# The worker memory a message hook holds for a client that sends faster
# than the backend answers (0.2 s a message, 4 in flight): the client
# writes 1 KiB messages for 8 s; prints what went into its socket, the
# calls the backend saw and the worker's RSS. Run: perl bench/backend/backpressure.pl
use FindBin;
use lib "$FindBin::Bin/../../t/lib";
use Test::NgxWs;
use Time::HiRes qw(time sleep);
use IO::Select;
$ENV{NGX_WS_TEST_PORT} = 4470;
my $bport = 4471;
my $bpid = fork // die; if (!$bpid) { exec '/usr/bin/python3', "$FindBin::Bin/../../t/lib/ws_backend.py", $bport, '/tmp/ngx_ws_bench_b3.log'; }
sleep 1;
my $ngx = start_nginx(name => 'bp', log_level => 'error',
    http_config => "upstream hooks { server 127.0.0.1:$bport; keepalive 8; }\n    access_log off;",
    config => <<CONF);
    location /slow { ws_listen; ws_backend_message /internal/m; ws_backend_message_inflight 4; }
    location = /internal/m {
        internal;
        proxy_pass http://hooks/m;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Answer-Delay 0.2;
    }
CONF
my ($w) = $ngx->workers;
my $r0 = vm_rss_kb($w);
my $ws = ws_connect(uri => '/slow', rcvbuf => 4096);
my $sock = $ws->{sock};
$sock->blocking(0);
my $payload = 'x' x 1024;
my $sent = 0; my $t0 = time; my $max = $r0;
my $frame0 = Test::NgxWs::Client::encode_frame(op => 1, payload => $payload, mask => 1); my $frame = $frame0;
while (time - $t0 < 8) {
    my $n = syswrite($sock, $frame);
    if (defined $n && $n == length $frame) { $sent++; $frame = $frame0 } elsif (defined $n) { $frame = substr($frame, $n); next } else { sleep 0.05 }
    my $r = vm_rss_kb($w); $max = $r if $r > $max;
}
printf "client tried to send for 8 s: %d KiB of messages got into the socket; backend calls made: %d; worker RSS %d KiB -> max %d KiB\n", $sent, scalar(() = `cat /tmp/ngx_ws_bench_b3.log` =~ /"path"/g), $r0, $max;
$ngx->stop; kill 'TERM', $bpid;
