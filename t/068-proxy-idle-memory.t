# An idle proxied connection holds no HTTP request: the balancer's state of
# the connection lives with the proxy link, the request is freed once the
# 101 is out (stub_status stops counting it as writing), and NGINX's memory
# per idle proxied connection (both sockets) is measured and bounded. The
# access-log line still carries $ws_upstream_*.
use Test::NgxWs;
use Test::More;
use IPC::Open2 qw(open2);

my $port = test_port();
my $py = $port + 2;
my $root = repo_root();
my $n = 400;
# ASan's redzones and quarantine (make asan sets this variable) make every
# allocation larger: the bound gets headroom there.
my $headroom = $ENV{NGX_WS_SANITIZER_LOGS} ? 4 : 1;

my $pid = open2(my $out, my $in, '/usr/bin/python3',
                "$root/t/proxy/python_upstream.py", $py);
like(<$out> // '', qr/listening/, 'python websockets listens');

my $ngx = start_nginx(name => 'idle proxied', http_config => <<CONF,
    log_format up '\$uri \$status up=\$ws_upstream_addr '
                  'in=\$ws_upstream_messages_in code=\$ws_upstream_close_code';
    upstream group { least_conn; server 127.0.0.1:$py; }
CONF
                      config => <<CONF);
    location /py/ {
        ws_listen;
        ws_proxy_pass ws://group;
        access_log logs/up.log up;
    }
    location = /status { stub_status; }
CONF

sub writing {
    my $res = http_request(raw => "GET /status HTTP/1.1\r\nHost: t\r\n"
                                  . "Connection: close\r\n\r\n");
    my ($w) = $res->{body} =~ /Writing: (\d+)/;
    return $w // -1;
}

{
    my $name = 'one idle proxied connection';
    my $ws = ws_connect(uri => '/py/echo');
    $ws->send_text('before');
    $ws->expect('text before', "$name: relayed");
    is(writing(), 1, "$name: holds no request (only the status request "
       . 'is writing)');
    $ws->send_text('after');
    $ws->expect('text after', "$name: relayed after the request is gone");
    $ws->send_close(1000);
    $ws->expect('close 1000', "$name: closed");
    my $log = "$ngx->{prefix}/logs/up.log";
    ok(wait_for(sub { Test::NgxWs::slurp($log) =~ /code=1000/ }, 5),
       "$name: logged");
    like(Test::NgxWs::slurp($log),
         qr{^/py/echo 101 up=127\.0\.0\.1:$py in=2 code=1000$}m,
         "$name: with \$ws_upstream_* in its access-log line");
}

{
    my $name = "$n idle proxied connections";
    my ($worker) = $ngx->workers;
    # a first one warms the worker up (buffers, the upstream's peer)
    my $warm = ws_connect(uri => '/py/echo');
    $warm->send_text('w');
    $warm->expect('text w', "$name: warm-up");
    my $before = vm_rss_kb($worker);
    my @ws;
    for my $i (1 .. $n) {
        my $ws = ws_connect(uri => '/py/echo');
        $ws->send_text("m$i");
        my $m = $ws->read_message(10);
        last unless $m && $m->{payload} eq "m$i";
        push @ws, $ws;
    }
    is(scalar @ws, $n, "$name: all relay");
    sleep 1;
    my $per = int((vm_rss_kb($worker) - $before) * 1024 / $n);
    diag("$name: $per bytes of NGINX worker memory per idle proxied "
         . 'connection (client and upstream sockets)');
    cmp_ok($per, '<', 8192 * $headroom, "$name: $per bytes each");
    $_->disconnect for @ws;
    $warm->disconnect;
}

check_logs($ngx);
kill 'TERM', $pid;
done_testing();
