# Graceful shutdown and reload: `nginx -s quit` and `-s reload` send close
# 1001 to every open WebSocket, and the old worker exits once they are
# closed; after a reload new connections work on the new worker.
use Test::NgxWs;
use Time::HiRes qw(time sleep);

my $config = <<'CONF';
    location /ws { ws_listen; ws_echo on; ws_close_timeout 1s; }
CONF
my $main = "worker_shutdown_timeout 10s;";

sub open_clients {
    my ($n, $name) = @_;
    my @ws = map { ws_connect(uri => '/ws') } 1 .. $n;
    for my $i (0 .. $#ws) {
        $ws[$i]->send_text("client $i");
        $ws[$i]->expect("text client $i", "$name - client $i echo before");
    }
    return @ws;
}

{
    my $name = 'quit';
    my $ngx = start_nginx(name => $name, main_config => $main, config => $config);
    my @ws = open_clients(3, $name);
    my $t0 = time;
    $ngx->signal('QUIT');
    for my $i (0 .. $#ws) {
        $ws[$i]->expect('close 1001', "$name - client $i");
        $ws[$i]->expect_eof("$name - client $i");
    }
    my $pid = $ngx->{pid};
    ok(wait_for(sub { !Test::NgxWs::Nginx::alive($pid) }, 5),
       "$name - nginx exited");
    my $took = time - $t0;
    ok($took < 3, "$name - in ${took}s");
    my @lines = $ngx->error_log =~ /\*\d+ ws: server shutting down, closing with 1001/g;
    is(scalar @lines, 3, "$name - error.log has 3 x ws: server shutting down, closing with 1001");
    $ngx->{stopped} = 1;
    check_logs($ngx);
}

{
    my $name = 'quit with a peer that does not answer the close';
    my $ngx = start_nginx(name => $name, main_config => $main, config => $config);
    my $ws = ws_connect(uri => '/ws', no_close_reply => 1);
    my $t0 = time;
    $ngx->signal('QUIT');
    $ws->expect('close 1001', $name);
    $ws->expect_eof($name, 0, 4);
    my $pid = $ngx->{pid};
    ok(wait_for(sub { !Test::NgxWs::Nginx::alive($pid) }, 5), "$name - nginx exited");
    my $took = time - $t0;
    ok($took >= 0.8 && $took < 4, "$name - after the 1s close timeout (${took}s)");
    $ngx->{stopped} = 1;
    check_logs($ngx);
}

{
    my $name = 'reload';
    my $ngx = start_nginx(name => $name, main_config => $main, config => $config);
    my ($old_worker) = $ngx->workers;
    my @ws = open_clients(2, $name);
    $ngx->signal('HUP');
    for my $i (0 .. $#ws) {
        $ws[$i]->expect('close 1001', "$name - old client $i");
        $ws[$i]->expect_eof("$name - old client $i");
    }
    ok(wait_for(sub { !Test::NgxWs::Nginx::alive($old_worker) }, 5),
       "$name - old worker $old_worker exited");
    my @new = $ngx->workers;
    is(scalar @new, 1, "$name - one worker after the reload");
    isnt($new[0] // 0, $old_worker, "$name - it is a new worker");
    my $ws = ws_connect(uri => '/ws');
    $ws->send_text('after reload');
    $ws->expect('text after reload', $name);
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    $ws->expect_eof($name);
    check_logs($ngx);
}

{
    my $name = 'reload keeps listening while old connections close';
    my $ngx = start_nginx(name => $name, main_config => $main, config => $config);
    my $old = ws_connect(uri => '/ws', no_close_reply => 1);
    $ngx->signal('HUP');
    $old->expect('close 1001', "$name - old client");
    # the old worker still waits for this client's close; a new client works meanwhile
    my $ws;
    ok(wait_for(sub { $ws = eval { ws_connect(uri => '/ws') } }, 3), "$name - new connection");
    if ($ws) {
        $ws->send_text('new');
        $ws->expect('text new', $name);
        $ws->disconnect;
    }
    $old->send_close(1001);
    $old->expect_eof("$name - old client");
    check_logs($ngx);
}

done_testing();
