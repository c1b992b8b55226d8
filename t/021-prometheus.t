# A real Prometheus server (Debian `prometheus`) scrapes ws_status every
# second: the target is up with no scrape error, and the figures it stores
# follow what the test clients do (an open connection, then its messages).
use Test::NgxWs;
use Test::More;
use JSON::PP;
use File::Path qw(make_path);
use POSIX ();

my $prometheus = '/usr/bin/prometheus';
plan skip_all => 'Debian prometheus is not installed' unless -x $prometheus;

my $ngx = start_nginx(name => 'prometheus', log_level => 'info',
    main_config => 'worker_processes 2;', listen_options => 'reuseport',
    http_config => 'ws_zone metrics 1m;', config => <<'CONF');
    location = /echo { ws_listen; ws_echo on; }
    location = /metrics { ws_status; }
CONF

my $port = test_port();
my $prom_port = $port + 2;
my $dir = "$ngx->{prefix}/prometheus";
make_path("$dir/data");
open my $fh, '>', "$dir/prometheus.yml" or die $!;
print $fh <<"YML";
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ngx_ws
    static_configs:
      - targets: ['127.0.0.1:$port']
YML
close $fh;

my $pid = fork // die "fork: $!";
if ($pid == 0) {
    open STDOUT, '>', "$dir/prometheus.log";
    open STDERR, '>&', \*STDOUT;
    exec $prometheus, "--config.file=$dir/prometheus.yml",
         "--storage.tsdb.path=$dir/data", "--web.listen-address=127.0.0.1:$prom_port",
         '--storage.tsdb.retention.time=1h'
        or POSIX::_exit(127);
}

# One instant query; returns the sample value or undef.
sub query {
    my ($expr) = @_;
    $expr =~ s/([^A-Za-z0-9_])/sprintf '%%%02X', ord $1/ge;
    my $res = eval { http_request(port => $prom_port, raw =>
        "GET /api/v1/query?query=$expr HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n") };
    return undef unless $res && $res->{status} == 200;
    my $j = eval { decode_json($res->{body}) } or return undef;
    my $r = $j->{data}{result}[0] or return undef;
    return $r->{value}[1];
}

ok(wait_for(sub { (query('up{job="ngx_ws"}') // '') eq '1' }, 60),
   'Prometheus scrapes ws_status: target up')
    or diag(Test::NgxWs::slurp("$dir/prometheus.log"));

my $targets = http_request(port => $prom_port, raw =>
    "GET /api/v1/targets HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
my $t = eval { decode_json($targets->{body})->{data}{activeTargets}[0] } // {};
is($t->{health}, 'up', 'target health up');
is($t->{lastError}, '', 'no scrape error');

my $ws = ws_connect(uri => '/echo');
ok(wait_for(sub { (query('sum(ngx_ws_connections{location="/echo"})') // '') eq '1' }, 20),
   'Prometheus sees the open connection');

$ws->send_text("m$_"), $ws->expect("text m$_", "echo $_", 1) for 1 .. 3;
ok(wait_for(sub {
       (query('sum(ngx_ws_messages_total{direction="in"})') // '') eq '3' }, 20),
   'and the three messages');
$ws->send_close(1000);
$ws->read_message;
ok(wait_for(sub { (query('sum(ngx_ws_closes_total{code="1000",by="client"})') // '') eq '1' }, 20),
   'and the close');
ok(wait_for(sub { (query('sum(ngx_ws_connections)') // '') eq '0' }, 20),
   'no connection open any more');

kill 'TERM', $pid;
waitpid $pid, 0;
check_logs($ngx);

done_testing();
