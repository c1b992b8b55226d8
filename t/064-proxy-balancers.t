# ws_proxy_pass picks its peer with NGINX's own balancers: hash, least_conn,
# backup, max_fails. Two Python websockets applications tell which one
# answered (/peer answers with its port).
use Test::NgxWs;
use Test::More;
use IPC::Open2 qw(open2);

my $port = test_port();
my ($py1, $py2, $dead) = ($port + 1, $port + 2, $port + 3);
my $root = repo_root();

for my $p ($py1, $py2) {
    open2(my $out, my $in, '/usr/bin/python3',
          "$root/t/proxy/python_upstream.py", $p);
    like(<$out> // '', qr/listening/, "python websockets on $p listens");
}

my $http = <<CONF;
    upstream by_user { hash \$arg_u; server 127.0.0.1:$py1; server 127.0.0.1:$py2; }
    upstream fewest  { least_conn; server 127.0.0.1:$py1; server 127.0.0.1:$py2; }
    upstream spare   { server 127.0.0.1:$dead; server 127.0.0.1:$py2 backup; }
    upstream flaky   { server 127.0.0.1:$dead max_fails=1 fail_timeout=60s;
                       server 127.0.0.1:$py1; }
CONF

my $config = <<CONF;
    location /hash/  { ws_listen; ws_proxy_pass ws://by_user/peer; }
    location /least/ { ws_listen; ws_proxy_pass ws://fewest/peer; }
    location /spare/ { ws_listen; ws_proxy_pass ws://spare/peer; }
    location /flaky/ { ws_listen; ws_proxy_pass ws://flaky/peer; }
CONF

my $ngx = start_nginx(name => 'balancers', http_config => $http,
                      config => $config, log_level => 'info');

sub peer_of {
    my ($ws) = @_;
    $ws->send_text('who');
    my $m = $ws->read_message;
    return $m ? $m->{payload} : '';
}

sub one_peer {
    my ($uri) = @_;
    my $ws = ws_connect(uri => $uri);
    my $p = peer_of($ws);
    $ws->send_close(1000);
    $ws->read_message;
    return $p;
}

{
    my %seen;
    for my $u (1 .. 12) {
        my @peers = map { one_peer("/hash/?u=user$u") } 1 .. 3;
        is(scalar(keys %{{ map { $_ => 1 } @peers }}), 1,
           "hash: user$u always gets the same peer ($peers[0])");
        $seen{$peers[0]}++;
    }
    is(scalar keys %seen, 2, 'hash: the users are spread over both peers');
}

{
    my $w1 = ws_connect(uri => '/least/');
    my $p1 = peer_of($w1);
    my $w2 = ws_connect(uri => '/least/');
    my $p2 = peer_of($w2);
    isnt($p2, $p1, 'least_conn: the second connection goes to the idle peer');
    # a third goes to either; then both connections of its peer close:
    # that peer has none open, the other one, and a fourth must go there
    my $w3 = ws_connect(uri => '/least/');
    my $p3 = peer_of($w3);
    my $same = $p3 eq $p1 ? $w1 : $w2;
    my $other = $p3 eq $p1 ? $w2 : $w1;
    for my $w ($w3, $same) {
        $w->send_close(1000);
        $w->read_message;
    }
    my $w4 = ws_connect(uri => '/least/');
    is(peer_of($w4), $p3, 'least_conn: closed connections are given back to the balancer');
    $_->send_close(1000) for $other, $w4;
}

is(one_peer('/spare/'), $py2, 'backup: used when the primary is down');

{
    my @peers = map { one_peer('/flaky/') } 1 .. 5;
    is_deeply(\@peers, [($py1) x 5], 'max_fails: every connection reaches the live peer');
    my $tries = () = $ngx->error_log =~ /ws proxy: upstream 127\.0\.0\.1:$dead: cannot connect.*request: "GET \/flaky\//g;
    is($tries, 1, 'max_fails=1: the dead peer was tried once, then left alone');
}

check_logs($ngx, undef, allow => qr/connect\(\) failed|ws proxy: upstream|no live upstreams|temporarily disabled/);

done_testing();
