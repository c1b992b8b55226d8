# Descriptors and connections of each worker against its limits:
# ws_status shows them per worker, "ws_health ready max_descriptors=N%"
# and "max_worker_connections=N%" turn 503 near them, and a start-up
# warning says when worker_connections or the open file limit cannot hold
# ws_max_connections.
use Test::NgxWs;
use Test::More;
use JSON::PP;

my $port = test_port();

sub get {
    my ($uri) = @_;
    my $res = http_request(port => $port, raw => "GET $uri HTTP/1.1\r\n"
                           . "Host: localhost\r\nConnection: close\r\n\r\n");
    $res->{json} = eval { decode_json($res->{body}) } // {};
    return $res;
}

# gauge{pid="..."} of the one worker in /metrics
sub gauge {
    my ($name, $pid) = @_;
    my $body = get('/metrics')->{body};
    return $body =~ /^\Q$name\E\{pid="$pid"\} (\d+)$/m ? $1 : undef;
}

sub nginx_t_output {
    my ($ngx) = @_;
    my $bin = nginx_bin();
    return scalar `$bin -t -p $ngx->{prefix}/ -c conf/nginx.conf 2>&1`;
}

sub conf_line {
    my ($ngx, $re) = @_;
    my @lines = split /\n/, Test::NgxWs::slurp("$ngx->{prefix}/conf/nginx.conf");
    for my $i (0 .. $#lines) { return $i + 1 if $lines[$i] =~ $re }
    return -1;
}

my $http = "    ws_zone cap 1m;\n";
my $locations = <<'CONF';
    location /ws { ws_listen; ws_echo on; }
    location = /metrics { ws_status; }
    location = /ready_fd { ws_health ready max_descriptors=50%; }
    location = /ready_wc { ws_health ready max_worker_connections=50%; }
CONF

# ---- the warning at start and at nginx -t ----

my $ngx = start_nginx(name => 'cap over worker_connections',
    main_config => "worker_rlimit_nofile 512;\nevents { worker_connections 50; }",
    http_config => $http,
    config => "    location /capped { ws_listen; ws_echo on; ws_max_connections 1000; }\n");
my $line = conf_line($ngx, qr/ws_max_connections 1000/);
my $out = nginx_t_output($ngx);
like($out, qr/\[warn\] .*ws: "ws_max_connections 1000" in \S*nginx\.conf:$line cannot be reached: 1 worker process\(es\) hold at most 50 connections each \(worker_connections 50, open file limit 512\)/,
     'nginx -t warns, naming the directive, its line and worker_connections') or diag($out);
like($out, qr/test is successful/, 'a warning, not an error');
like($ngx->error_log, qr/\[warn\] .*"ws_max_connections 1000" in \S*nginx\.conf:$line cannot be reached/,
     'the same warning at start');
check_logs($ngx);

$ngx = start_nginx(name => 'cap over the open file limit',
    main_config => "worker_processes 2;\nworker_rlimit_nofile 100;\nevents { worker_connections 1000; }",
    http_config => $http,
    config => "    location /capped { ws_listen; ws_echo on; ws_max_connections 300; }\n");
$out = nginx_t_output($ngx);
like($out, qr/ws: "ws_max_connections 300" in \S+ cannot be reached: 2 worker process\(es\) hold at most 100 connections each \(worker_connections 1000, open file limit 100\)/,
     'the open file limit bounds it too, times the workers') or diag($out);
check_logs($ngx);

$ngx = start_nginx(name => 'cap within the limits',
    main_config => "worker_processes 2;\nworker_rlimit_nofile 100;\nevents { worker_connections 1000; }",
    http_config => $http,
    config => "    location /capped { ws_listen; ws_echo on; ws_max_connections 200; }\n");
$out = nginx_t_output($ngx);
unlike($out, qr/ws_max_connections/, 'no warning when the workers can hold the cap') or diag($out);
check_logs($ngx);

# ---- gauges and readiness near worker_connections ----

$ngx = start_nginx(name => 'worker connections', log_level => 'info',
    main_config => "worker_rlimit_nofile 1000;\nevents { worker_connections 60; }",
    http_config => $http, config => $locations);
my ($pid) = $ngx->workers;

my $fd_limit = gauge('ngx_ws_worker_descriptors_limit', $pid);
is($fd_limit, 1000, 'descriptor limit of the worker: worker_rlimit_nofile');
is(gauge('ngx_ws_worker_connections_limit', $pid), 60, 'connection limit: worker_connections');

# what the test sees of the worker's descriptors (it runs as root)
sub real_fds {
    opendir my $dh, "/proc/$_[0]/fd" or return -1;
    my $n = grep { !/^\./ } readdir $dh;
    closedir $dh;
    return $n;
}

# The gauge is up to a second old and the scrapes' own connections come
# and go: it must come within 3 of /proc/<pid>/fd.
sub fds_match {
    my ($pid, $min) = @_;
    my ($gauge, $real);
    my $ok = wait_for(sub {
        $gauge = gauge('ngx_ws_worker_descriptors', $pid) // -100;
        $real = real_fds($pid);
        $real >= $min && abs($gauge - $real) <= 3 }, 4);
    return ($ok, $gauge, $real);
}

my ($ok, $fds, $real) = fds_match($pid, 1);
ok($ok, "descriptors open ($fds) match /proc/$pid/fd ($real)");
my $conns0 = gauge('ngx_ws_worker_connections', $pid);
ok(defined $conns0 && $conns0 >= 1 && $conns0 < 10, "connections in use at rest: $conns0");

is(get('/ready_wc')->{status}, 200, 'ready under 50% of worker_connections');

my @ws = map { ws_connect(port => $port) } 1 .. 30;
ok(wait_for(sub { (gauge('ngx_ws_worker_connections', $pid) // 0) >= $conns0 + 30 }, 3),
   '30 WebSockets counted in the connections gauge within the refresh');
($ok, $fds, $real) = fds_match($pid, 30);
ok($ok, "... and in the descriptors gauge ($fds, /proc/$pid/fd has $real)");

my $res = get('/ready_wc');
is($res->{status}, 503, 'over 50% of worker_connections: 503');
my $wc = $res->{json}{checks}{worker_connections} // {};
ok(!$wc->{ok} && $wc->{limit} == 60 && $wc->{used} >= 31 && $wc->{pid} == $pid
   && $wc->{max_percent} == 50, 'the check says which worker and how full')
    or diag($res->{body});
is(get('/ready_fd')->{status}, 200, 'descriptors are far from their limit: ready');
ok(wait_for(sub { $ngx->error_log =~ /ws: not ready: connections near worker_connections/ }, 3),
   'the 503 is logged');

$_->disconnect for @ws;
ok(wait_for(sub { get('/ready_wc')->{status} == 200 }, 3), 'ready again once they closed');
check_logs($ngx);

# ---- readiness near the open file limit ----

$ngx = start_nginx(name => 'descriptors', log_level => 'info',
    main_config => "worker_rlimit_nofile 64;\nevents { worker_connections 1000; }",
    http_config => $http, config => $locations);
($pid) = $ngx->workers;
is(gauge('ngx_ws_worker_descriptors_limit', $pid), 64, 'the lower open file limit is shown');
is(get('/ready_fd')->{status}, 200, 'ready under 50% of the descriptors');

@ws = map { ws_connect(port => $port) } 1 .. 30;
$res = get('/ready_fd');
is($res->{status}, 503, 'over 50% of the open file limit: 503');
my $fd = $res->{json}{checks}{descriptors} // {};
ok(!$fd->{ok} && $fd->{limit} == 64 && $fd->{used} >= 32, 'the descriptors check says why')
    or diag($res->{body});
is(get('/ready_wc')->{status}, 200, 'connections are far from worker_connections: ready');
ok(wait_for(sub { $ngx->error_log =~ /ws: not ready: descriptors near the open file limit/ }, 3),
   'the 503 is logged');
$_->disconnect for @ws;
ok(wait_for(sub { get('/ready_fd')->{status} == 200 }, 3), 'ready again once they closed');
my $json = get('/metrics?format=json')->{json};
is(ref $json->{capacity}, 'ARRAY', 'the JSON answer lists the workers\' capacity');
is($json->{capacity}[0]{descriptors_limit}, 64, '... with their limits');
check_logs($ngx, undef, allow => qr/worker_connections exceed open file resource limit/);

# ---- validation ----

for my $bad ('max_descriptors=0%', 'max_descriptors=101%', 'max_descriptors=90',
             'max_worker_connections=abc%', 'max_worker_connections=%') {
    my ($rc, $o) = nginx_check_config(dir => '070-capacity-t',
        http => 'ws_zone z 1m;', location => "ws_health ready $bad;");
    isnt($rc, 0, "ws_health ready $bad refused");
    like($o, qr/invalid parameter "\Q$bad\E" in "ws_health".*in \S+nginx\.conf:\d+/,
         '... naming the directive and its line') or diag($o);
}
my ($rc, $o) = nginx_check_config(dir => '070-capacity-t', http => 'ws_zone z 1m;',
    location => 'ws_health ready max_descriptors=90% max_worker_connections=95%;');
is($rc, 0, 'both options accepted') or diag($o);

done_testing();
