# Rate limits (ws_limit_rate per connection, per client address and per
# user, across workers; drop or close) and connection caps
# (ws_max_connections 503, ws_max_connections_per_ip and _per_user 429,
# with Retry-After, before the upgrade).
use Test::NgxWs;
use Test::NgxWsJwt;
use Test::More;
use File::Path qw(make_path);

my $port = test_port();
my $dir = repo_root() . '/t/servroot/042-limits-keys';
make_path($dir);
my $secret = 'limits-test-secret-of-at-least-32-bytes';
open my $kf, '>', "$dir/hs.key" or die $!;
print $kf $secret;
close $kf;
sub token { jwt_token(alg => 'HS256', secret => $secret, claims => json_obj(sub => shift)) }

my $http = <<'CONF';
    ws_zone limits 1m;
    log_format lim '$pid $ws_connection_id rate_limited=$ws_rate_limited code=$ws_close_code uri=$uri';
    access_log logs/access.log lim;
CONF

# Reads until the server's close; returns (texts, close code, reason).
sub drain {
    my ($ws) = @_;
    my @texts;
    while (1) {
        my $m = eval { $ws->read_message(5) };
        return (\@texts, undef) unless $m;
        return (\@texts, $m->{code}, $m->{reason}) if $m->{op} eq 'close';
        push @texts, $m->{payload} if $m->{op} eq 'text';
    }
}

{
    my $name = 'per-connection message rate';
    my $ngx = start_nginx(name => $name, log_level => 'info', http_config => $http,
                          config => <<'CONF');
    location /close {
        ws_listen; ws_echo on;
        ws_limit_rate connection 5r/m burst=3;
    }
    location /drop {
        ws_listen; ws_echo on;
        ws_limit_rate connection 1r/m burst=2 drop;
    }
    location /bytes {
        ws_listen; ws_echo on;
        ws_limit_rate connection 1k/m burst=1k drop;
    }
    location /two {
        ws_listen; ws_echo on;
        ws_limit_rate connection 1r/m burst=10;
        ws_limit_rate connection 100/m burst=100 drop;
    }
    location = /metrics { ws_status; }
CONF
    my $ws = ws_connect(uri => '/close');
    $ws->send_text("m$_") for 1 .. 5;
    my ($texts, $code, $reason) = drain($ws);
    is_deeply($texts, [qw(m1 m2 m3)], "$name, close - the burst passes");
    is($code, 1008, "$name, close - the next message closes with 1008");
    is($reason, 'rate limit exceeded', "$name, close - reason");
    ok(wait_for(sub { $ngx->error_log =~ /ws: over ws_limit_rate connection 5r\/m, closing with 1008/ }, 3),
       "$name, close - logged");
    $ws->disconnect;

    my $metric = sub {
        my ($v) = http_request(raw => "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                  ->{body} =~ /^ngx_ws_rate_limited_total (\d+)$/m;
        return $v;
    };
    my $limited_before = $metric->();
    $ws = ws_connect(uri => '/drop');
    $ws->send_text("d$_") for 1 .. 5;
    $ws->send_close(1000);
    ($texts, $code) = drain($ws);
    is_deeply($texts, [qw(d1 d2)], "$name, drop - the burst passes, the rest is dropped");
    is($code, 1000, "$name, drop - the session goes on");
    ok(wait_for(sub { $ngx->access_log =~ /rate_limited=3 code=1000 uri=\/drop/ }, 3),
       "$name, drop - \$ws_rate_limited counts the 3 dropped");
    my @lines = $ngx->error_log =~ /ws: over ws_limit_rate connection 1r\/m, dropping messages/g;
    is(scalar @lines, 1, "$name, drop - logged once per connection");
    is($metric->() - $limited_before, 3, "$name, drop - ngx_ws_rate_limited_total counts them");
    $ws->disconnect;

    $ws = ws_connect(uri => '/bytes');
    $ws->send_text('a' x 600);
    $ws->send_text('b' x 600);
    $ws->send_text('c' x 300);
    $ws->send_close(1000);
    ($texts) = drain($ws);
    is_deeply([map { length } @$texts], [600, 300],
              "$name, bytes - 600 passes, 600 more is over 1k, 300 fits");
    $ws->disconnect;

    $ws = ws_connect(uri => '/two');
    $ws->send_text('x' x 60);
    $ws->send_text('y' x 60);
    $ws->send_text('z' x 30);
    $ws->send_close(1000);
    ($texts) = drain($ws);
    is_deeply([map { substr $_, 0, 1 } @$texts], [qw(x z)],
              "$name, two rates - every rate applies");
    $ws->disconnect;
    check_logs($ngx);
}

{
    my $name = 'per-address rate across 4 workers';
    my $ngx = start_nginx(name => $name, log_level => 'info', http_config => $http,
        main_config => 'worker_processes 4;', listen_options => 'reuseport',
        config => <<'CONF');
    location /ws {
        ws_listen; ws_echo on;
        ws_limit_rate ip 1r/m burst=6 drop;
    }
CONF
    ok(wait_for(sub { $ngx->workers == 4 }, 3), "$name - 4 workers");
    my @ws = map { ws_connect(uri => '/ws') } 1 .. 8;
    my $total = 0;
    for my $i (0 .. $#ws) {
        $ws[$i]->send_text("c$i-$_") for 1 .. 2;
        $ws[$i]->send_close(1000);
        my ($texts) = drain($ws[$i]);
        $total += @$texts;
        $ws[$i]->disconnect;
    }
    is($total, 6, "$name - 6 of 16 messages passed: one bucket for the address");
    my %pids;
    my $dropped = 0;
    ok(wait_for(sub {
        my @l = $ngx->access_log =~ /^(\d+) \d+ rate_limited=(\d+) code=1000/mg;
        %pids = (); $dropped = 0;
        while (my ($pid, $n) = splice @l, 0, 2) { $pids{$pid} = 1; $dropped += $n }
        $dropped == 10 }, 5), "$name - 10 dropped in all");
    cmp_ok(scalar keys %pids, '>=', 2, "$name - by " . scalar(keys %pids) . " workers");
    check_logs($ngx);
}

{
    my $name = 'per-user rate';
    my $ngx = start_nginx(name => $name, log_level => 'info', http_config => $http,
                          config => <<"CONF");
    location /ws {
        ws_listen; ws_echo on;
        ws_auth_jwt on; ws_auth_jwt_key HS256 $dir/hs.key;
        ws_limit_rate user 1r/m burst=2;
    }
CONF
    my $a1 = ws_connect(uri => '/ws', headers => "Authorization: Bearer " . token('alice') . "\n");
    my $a2 = ws_connect(uri => '/ws', headers => "Authorization: Bearer " . token('alice') . "\n");
    my $bob = ws_connect(uri => '/ws', headers => "Authorization: Bearer " . token('bob') . "\n");
    $a1->send_text('one');
    $a1->expect('text one', "$name - alice's first message");
    $a2->send_text('two');
    $a2->expect('text two', "$name - alice's second, from another connection");
    $a2->send_text('three');
    my ($texts, $code) = drain($a2);
    is($code, 1008, "$name - alice's third closes her connection with 1008");
    $bob->send_text('bob');
    $bob->expect('text bob', "$name - bob has his own bucket");
    $_->disconnect for $a1, $a2, $bob;
    check_logs($ngx);
}

{
    my $name = 'connection caps';
    my $ngx = start_nginx(name => $name, log_level => 'info', http_config => $http,
        main_config => 'worker_processes 4;', listen_options => 'reuseport',
        config => <<"CONF");
    location /all {
        ws_listen; ws_echo on;
        ws_max_connections 3;
    }
    location /ip {
        ws_listen; ws_echo on;
        ws_max_connections_per_ip 2;
    }
    location /user {
        ws_listen; ws_echo on;
        ws_auth_jwt on; ws_auth_jwt_key HS256 $dir/hs.key;
        ws_max_connections_per_user 1;
    }
CONF
    ok(wait_for(sub { $ngx->workers == 4 }, 3), "$name - 4 workers");

    my @all = map { ws_connect(uri => '/all') } 1 .. 3;
    my $res = ws_handshake_answer(uri => '/all');
    is($res->{status}, 503, "$name - ws_max_connections: the 4th gets 503");
    is($res->{header}{'retry-after'}, '10', "$name - with Retry-After");
    ok(wait_for(sub { $ngx->error_log =~ /ws: 3 connections, the ws_max_connections limit, refusing with 503/ }, 3),
       "$name - logged");
    $all[0]->send_text('alive');
    $all[0]->expect('text alive', "$name - open sessions go on");
    $all[0]->send_close(1000);
    $all[0]->expect('close 1000', $name);
    $all[0]->disconnect;
    my $again;
    ok(wait_for(sub { $again = eval { ws_connect(uri => '/all') } }, 3),
       "$name - a closed session frees its slot");

    my @ip = map { ws_connect(uri => '/ip') } 1 .. 2;
    $res = ws_handshake_answer(uri => '/ip');
    is($res->{status}, 429, "$name - ws_max_connections_per_ip: the 3rd from one address gets 429");
    is($res->{header}{'retry-after'}, '10', "$name - with Retry-After");
    ok(wait_for(sub { $ngx->error_log =~ /ws: 2 connections from this address, the ws_max_connections_per_ip limit, refusing with 429/ }, 3),
       "$name - logged");

    my $alice = ws_connect(uri => '/user', headers => "Authorization: Bearer " . token('alice') . "\n");
    $res = ws_handshake_answer(uri => '/user',
                               headers => "Authorization: Bearer " . token('alice') . "\n");
    is($res->{status}, 429, "$name - ws_max_connections_per_user: alice's 2nd gets 429");
    ok(wait_for(sub { $ngx->error_log =~ /ws: user "alice" has 1 connections, the ws_max_connections_per_user limit/ }, 3),
       "$name - logged with the user");
    my $bob = ws_connect(uri => '/user', headers => "Authorization: Bearer " . token('bob') . "\n");
    $bob->send_text('bob here');
    $bob->expect('text bob here', "$name - bob is not counted with alice");
    $res = ws_handshake_answer(uri => '/user');
    is($res->{status}, 401, "$name - no token: 401 before any cap");

    $_->disconnect for @all[1, 2], $again, @ip, $alice, $bob;
    check_logs($ngx);
}

{
    my $name = 'worker connection reserve';
    my $ngx = start_nginx(name => $name, log_level => 'info', http_config => $http,
        main_config => "worker_processes 1;\nevents { worker_connections 40; }",
        config => <<'CONF');
    location /ws {
        ws_listen; ws_echo on;
        ws_reserve_connections 20;
    }
CONF
    my (@open, $refused);
    for (1 .. 35) {
        my $ws = eval { Test::NgxWs::Client->new(port => $port) };
        last unless $ws;
        my $res = eval { $ws->handshake("GET /ws HTTP/1.1\n") };
        last unless $res;
        if ($res->{status} != 101) {
            $refused = $ws->finish_http_response($res);
            last;
        }
        push @open, $ws;
    }
    ok($refused, "$name - upgrades stop before the worker runs out ("
       . scalar(@open) . " open)");
    is($refused && $refused->{status}, 503, "$name - with 503");
    is($refused && $refused->{header}{'retry-after'}, '10', "$name - and Retry-After");
    cmp_ok(scalar @open, '>=', 10, "$name - the connections below the reserve were served");
    $open[0]->send_text('still');
    $open[0]->expect('text still', "$name - open sessions go on");
    ok(wait_for(sub { $ngx->error_log =~ /ws: \d+ free connections in this worker, under ws_reserve_connections 20, refusing with 503/ }, 3),
       "$name - logged");
    $_->send_close(1000) for @open[0 .. 4];
    $_->expect('close 1000', $name) for @open[0 .. 4];
    $_->disconnect for @open[0 .. 4];
    my $again;
    ok(wait_for(sub { $again = eval { ws_connect(uri => '/ws') } }, 3),
       "$name - closed sessions give the room back");
    $_->disconnect for @open[5 .. $#open], grep { $_ } $again;
    check_logs($ngx);
}

done_testing();
