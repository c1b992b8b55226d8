# Measures (1) worker RSS per idle connection with and without a connect
# hook that sets a user and two meta values (the same handshake headers
# both ways), (2) worker CPU per connect+close cycle without hooks and
# with `return 204` connect and close hooks. Run (ulimit -n 20000 first):
# perl bench/backend/idle_memory_and_cpu.pl
use FindBin;
use lib "$FindBin::Bin/../../t/lib";
use Test::NgxWs;
use Time::HiRes qw(time);
$ENV{NGX_WS_TEST_PORT} = 4450;
my $bport = 4451;
my $blog = '/tmp/ngx_ws_bench_backend.log';
my $bpid = fork // die; if (!$bpid) { exec '/usr/bin/python3', "$FindBin::Bin/../../t/lib/ws_backend.py", $bport, $blog; }
sleep 1;
my $ngx = start_nginx(name => 'measure', log_level => 'error',
    main_config => "worker_rlimit_nofile 20000;\nevents { worker_connections 10000; }",
    http_config => "upstream hooks { server 127.0.0.1:$bport; keepalive 8; }\n    access_log off;",
    config => <<CONF);
    location /plain { ws_listen; }
    location /meta { ws_listen; ws_backend_connect /internal/connect; }
    location /ret { ws_listen; ws_backend_connect /internal/allow; ws_backend_close /internal/allow; }
    location = /internal/allow { internal; return 204; }
    location = /internal/connect {
        internal;
        proxy_pass http://hooks/connect;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
CONF
my ($w) = $ngx->workers;
sub rss { vm_rss_kb($w) }
sub cpu { my @f = split ' ', Test::NgxWs::slurp("/proc/$w/stat"); return ($f[13] + $f[14]) / 100 }
my $N = 2000;
my $meta = "X-Answer-Header: WS-User: alice\nX-Answer-Header: WS-Meta-Plan: gold\nX-Answer-Header: WS-Meta-Tenant: acme\n";
for my $case (['/plain', $meta], ['/plain', $meta], ['/meta', $meta], ['/plain', $meta], ['/meta', $meta], ['/meta', "X-Answer-Header: WS-User: alice\nX-Answer-Header: WS-Meta-Plan: gold\nX-Answer-Header: WS-Meta-Tenant: acme\n"]) {
    my ($uri, $h) = @$case;
    my $r0 = rss();
    my @c = map { ws_connect(uri => $uri, headers => $h) } 1 .. $N;
    sleep 1;
    my $r1 = rss();
    printf "%s: %.0f bytes per idle connection (%d connections, RSS %d -> %d KiB)\n", $uri, ($r1 - $r0) * 1024 / $N, $N, $r0, $r1;
    $_->disconnect for @c;
    sleep 1;
}
for my $case (['/plain'], ['/ret'], ['/plain'], ['/ret'], ['/plain'], ['/ret']) {
    my ($uri) = @$case;
    my $M = 6000;
    my $c0 = cpu(); my $t0 = time;
    for (1 .. $M) { my $ws = ws_connect(uri => $uri); $ws->send_close(1000); $ws->read_message; $ws->disconnect; }
    my $c1 = cpu(); my $t1 = time;
    printf "%s: %d cycles, worker CPU %.2f s = %.1f us per connect+close; wall %.2f s\n", $uri, $M, $c1 - $c0, ($c1 - $c0) * 1e6 / $M, $t1 - $t0;
}
$ngx->stop;
kill 'TERM', $bpid;
