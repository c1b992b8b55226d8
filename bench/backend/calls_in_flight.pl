# The memory of close calls in flight: 400 WebSockets close while a
# backend holds their close calls for 4 s; prints the worker's RSS
# before and while the calls wait. Run (ulimit -n 20000 first):
# perl bench/backend/calls_in_flight.pl
use FindBin;
use lib "$FindBin::Bin/../../t/lib";
use Test::NgxWs;
use Time::HiRes qw(time sleep);
$ENV{NGX_WS_TEST_PORT} = 4460;
my $bport = 4461;
my $bpid = fork // die; if (!$bpid) { exec '/usr/bin/python3', "$FindBin::Bin/../../t/lib/ws_backend.py", $bport, '/tmp/ngx_ws_bench_b2.log'; }
sleep 1;
my $ngx = start_nginx(name => 'inflight', log_level => 'error',
    main_config => "worker_rlimit_nofile 20000;\nevents { worker_connections 10000; }",
    http_config => "upstream hooks { server 127.0.0.1:$bport; keepalive 8; }\n    access_log off;",
    config => <<CONF);
    location /slow { ws_listen; ws_backend_close /internal/close; }
    location = /internal/close {
        internal;
        proxy_pass http://hooks/close;
        proxy_set_header X-Answer-Delay 4;
    }
CONF
my ($w) = $ngx->workers;
my $N = 400;
my @c = map { ws_connect(uri => '/slow') } 1 .. $N;
sleep 0.5;
my $r0 = vm_rss_kb($w);
$_->disconnect for @c;     # N close calls start, the backend holds them 4 s
sleep 1.5;
my $r1 = vm_rss_kb($w);
printf "idle %d KiB -> %d calls in flight %d KiB: %.0f bytes per call in flight (the WebSockets themselves freed)\n", $r0, $N, $r1, ($r1 - $r0) * 1024 / $N;
sleep 6;
my $r2 = vm_rss_kb($w);
printf "after the answers: %d KiB\n", $r2;
$ngx->stop; kill 'TERM', $bpid;
