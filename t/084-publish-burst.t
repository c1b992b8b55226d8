# A burst of publishes read at once (a client's pipelined frames, a Redis
# read) must not overflow the publishing worker's own channel queue: only
# that worker empties it, so its own subscribers would lose messages
# while it is still busy reading them. A worker's queue that does fill
# (its process does not run) drops what is published for it, and says so
# once when it fills and once when it has room again.
use Test::NgxWs;
use Test::More;
use Time::HiRes qw(sleep);

my $port = test_port();
my $burst = 10000;

sub burst_frames {
    my ($from, $to) = @_;
    return join '', map {
        Test::NgxWs::Client::encode_frame(op => 1, payload => "m$_")
    } $from .. $to;
}

# every message the subscriber gets until it has $want or none comes
sub read_run {
    my ($client, $want) = @_;
    my @got;
    while (@got < $want) {
        my $m = eval { $client->read_message(10) } or last;
        last if $m->{op} ne 'text';
        push @got, $m->{payload};
    }
    return @got;
}

{
    my $name = 'one worker, one burst';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        http_config => "ws_zone test 8m;",
        config => <<'CONF');
    location = /sub { ws_listen; ws_subscribe room:b; ws_send_buffer 4m; }
    location = /pub { ws_listen; ws_publish room:b; }
CONF

    my $sub = ws_connect(port => $port, uri => '/sub');
    my $pub = ws_connect(port => $port, uri => '/pub');

    # written at once: the worker reads thousands of frames per recv()
    $pub->send_raw(burst_frames(1, $burst));

    my @got = read_run($sub, $burst);
    is(scalar @got, $burst, "$name: every message of the burst delivered");
    is_deeply(\@got, [map { "m$_" } 1 .. $burst], "$name: in order")
        or diag "first: $got[0], last: $got[-1]";
    unlike($ngx->error_log, qr/channel queue of worker process/,
           "$name: no queue reported full");

    $pub->disconnect;
    $sub->disconnect;
    check_logs($ngx);
}

{
    my $name = 'a stopped worker';
    my $ngx = start_nginx(name => $name, log_level => 'info',
        main_config => "worker_processes 2;",
        http_config => "ws_zone test 8m;",
        config => <<'CONF');
    location = /sub { ws_listen; ws_subscribe room:c; ws_send_buffer 4m; }
    location = /pub { ws_listen; ws_publish room:c; }
CONF

    my @workers = $ngx->workers(2);
    is(scalar @workers, 2, "$name: two workers");

    # the subscriber on one worker, the publisher on the other
    my ($sub, $pub, $sub_pid, $pub_pid);
    for (1 .. 50) {
        my $c = ws_connect(port => $port, uri => '/sub');
        my $pid = socket_owner($c, @workers);
        if (!$sub && $pid) {
            ($sub, $sub_pid) = ($c, $pid);
            next;
        }
        $c->disconnect;
        last if $sub;
    }
    for (1 .. 50) {
        last unless $sub;
        my $c = ws_connect(port => $port, uri => '/pub');
        my $pid = socket_owner($c, @workers);
        if ($pid && $pid != $sub_pid) {
            ($pub, $pub_pid) = ($c, $pid);
            last;
        }
        $c->disconnect;
    }
    ok($sub && $pub, "$name: subscriber and publisher on different workers")
        or BAIL_OUT('could not place the connections');

    # a subscribed session is registered before its 101: one round trip
    $pub->send_text('m0');
    is(eval { $sub->read_message(10)->{payload} }, 'm0',
       "$name: delivered across workers");

    kill 'STOP', $sub_pid;
    my $over = 500;
    my $sent = 4096 + $over;
    $pub->send_raw(burst_frames(1, $sent));
    my $full = qr/the channel queue of worker process $sub_pid is full \(4096 messages waiting\)/;
    ok(wait_for(sub { $ngx->error_log =~ $full }, 20),
       "$name: the full queue is logged");
    sleep 0.5;
    kill 'CONT', $sub_pid;

    my @got = read_run($sub, 4096);
    is(scalar @got, 4096, "$name: what the queue held is delivered");
    is($got[-1], 'm4096', "$name: up to where the queue filled");

    # the next publish finds room, and says how many were lost
    $pub->send_text('after');
    is(eval { $sub->read_message(10)->{payload} }, 'after',
       "$name: the next publish is delivered");
    ok(wait_for(sub { $ngx->error_log =~ /the channel queue of worker process $sub_pid has room again; $over messages were dropped for it/ }, 10),
       "$name: room again, with the count dropped");
    my @full = $ngx->error_log =~ /$full/g;
    is(scalar @full, 1, "$name: full logged once");

    $pub->disconnect;
    $sub->disconnect;
    check_logs($ngx);
}

done_testing();
