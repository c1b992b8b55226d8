# Several workers: many connections spread over 4 workers (reuseport), every
# one of them echoes its own messages.
use Test::NgxWs;

my $port2 = test_port() + 1;
my $clients = 200;
my $name = 'worker_processes 4';

my $ngx = start_nginx(name => $name, log_level => 'info',
                      main_config => 'worker_processes 4;',
                      http_config => <<'CONF');
    log_format ws_pid '$pid $ws_close_code';
    server {
        listen 127.0.0.1:$port2 reuseport;
        access_log logs/access.log ws_pid;
        location /ws { ws_listen; ws_echo on; }
    }
CONF

ok(wait_for(sub { $ngx->workers == 4 }, 3), "$name - 4 workers running");

my @ws = grep { $_ } map { eval { ws_connect(port => $port2, uri => '/ws') } } 1 .. $clients;
is(scalar @ws, $clients, "$name - $clients connections open at once");
$clients = @ws;    # the rounds below check the ones that are open

for my $round (1 .. 3) {
    $ws[$_]->send_text("client $_ round $round") for 0 .. $#ws;
    my $ok = 0;
    for my $i (0 .. $#ws) {
        my $m = eval { $ws[$i]->read_message };
        $ok++ if $m && $m->{op} eq 'text' && $m->{payload} eq "client $i round $round";
    }
    is($ok, $clients, "$name - round $round: every client got its own echo");
}

$ws[$_]->send_close(1000) for 0 .. $#ws;
my $closed = 0;
for my $w (@ws) {
    my $m = eval { $w->read_message };
    $closed++ if $m && $m->{op} eq 'close' && ($m->{code} // 0) == 1000;
    $w->disconnect;
}
is($closed, $clients, "$name - every client got close 1000");

ok(wait_for(sub { my @l = $ngx->access_log =~ /^\d+ 1000$/mg; @l == $clients }, 5),
   "$name - $clients access-log lines with close code 1000");
my %pids = map { $_ => 1 } $ngx->access_log =~ /^(\d+) 1000$/mg;
ok(keys %pids >= 2, "$name - connections served by " . scalar(keys %pids) . " workers");

check_logs($ngx);
done_testing();
