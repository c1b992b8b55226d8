# TLS to Redis ("ws_redis ... ssl"): a private redis-server that speaks
# only TLS and asks clients for a certificate (Redis's default), and NGINX
# nodes that reach it through NGINX's own client TLS.
#  - two nodes verify Redis's certificate (by address and by host name)
#    and carry messages between them, a large one included;
#  - a wrong CA, a wrong name and a missing client certificate each keep
#    the node's Redis link down, with the reason logged once, readiness
#    503 and local channels unharmed; ws_redis_ssl_verify off connects;
#  - Redis killed and restarted: both nodes reconnect over TLS by
#    themselves.
use Test::NgxWs;
use Test::NgxWs::Redis;
use Test::More;
use File::Path qw(make_path remove_tree);
use JSON::PP;
use IO::Select;
use IO::Socket::INET;
use POSIX ();

plan(skip_all => 'redis-server is not installed')
    unless Test::NgxWs::Redis::available();

# ---------------------------------------------------------------- #
# Certificates: a CA for Redis and its clients, and a stranger CA
# ---------------------------------------------------------------- #

my $pki = Test::NgxWs::servroot() . '-pki';
remove_tree($pki);
make_path($pki);

sub openssl {
    my ($args) = @_;
    system("cd '$pki' && openssl $args >/dev/null 2>&1") == 0
        or die "openssl $args failed\n";
}

sub make_ca {
    my ($name) = @_;
    openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
            . " -keyout $name.key -out $name.pem -days 2 -subj '/CN=$name'");
}

# a certificate signed by the CA, for the names in $san
sub make_leaf {
    my ($ca, $name, $san) = @_;
    open my $fh, '>', "$pki/$name.ext" or die $!;
    print $fh "subjectAltName=$san\n";
    close $fh;
    openssl("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
            . " -keyout $name.key -out $name.csr -subj '/CN=$name'");
    openssl("x509 -req -in $name.csr -CA $ca.pem -CAkey $ca.key -CAcreateserial"
            . " -out $name.pem -days 2 -extfile $name.ext");
}

make_ca('ca');
make_ca('stranger');
make_leaf('ca', 'server', 'DNS:localhost,IP:127.0.0.1');
make_leaf('ca', 'client', 'DNS:ngx-ws-node');

my $redis = Test::NgxWs::Redis->new(tls => {
    cert => "$pki/server.pem", key => "$pki/server.key", ca => "$pki/ca.pem",
    client_cert => "$pki/client.pem", client_key => "$pki/client.key" });
$redis->start;
my $rport = $redis->{port};

# The nodes that Redis refuses reach it through a relay that counts their
# TCP connections: how the test knows their links retried before it
# counts the log lines ("logged once" is void without retries). A failed
# TLS handshake is not reliably counted by Redis itself.
my $relay_port = test_port() + 10;
my $relay_count_file = Test::NgxWs::servroot() . '-relay-count';

sub start_relay {
    unlink $relay_count_file;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $relay_port,
                                       Listen => 64, ReuseAddr => 1)
        or die "relay: cannot listen on $relay_port: $@\n";
    my $parent = $$;
    my $pid = fork // die "fork: $!\n";
    return $pid if $pid;
    my $sel = IO::Select->new($listen);
    my (%other, $accepted);
    while (kill 0, $parent) {
        for my $fh ($sel->can_read(0.5)) {
            if ($fh == $listen) {
                my $c = $listen->accept or next;
                open my $out, '>', "$relay_count_file.tmp" or next;
                print $out ++$accepted;
                close $out;
                rename "$relay_count_file.tmp", $relay_count_file;
                my $r = IO::Socket::INET->new("127.0.0.1:$rport") or do { close $c; next };
                @other{$c, $r} = ($r, $c);
                $sel->add($c, $r);
                next;
            }
            my $peer = $other{$fh} or next;    # closed with its peer
            my $n = sysread($fh, my $buf, 65536);
            if (!$n || !defined syswrite($peer, $buf)) {
                $sel->remove($fh, $peer);
                delete @other{$fh, $peer};
                close $fh;
                close $peer;
            }
        }
    }
    POSIX::_exit(0);    # no END blocks of the test in this copy
}

sub relayed {
    return Test::NgxWs::slurp($relay_count_file) =~ /(\d+)/ ? $1 : 0;
}

# ---------------------------------------------------------------- #
# Nodes
# ---------------------------------------------------------------- #

my $client_cert = <<"CONF";
    ws_redis_ssl_certificate $pki/client.pem;
    ws_redis_ssl_certificate_key $pki/client.key;
CONF

my %http = (
    # verified by address: the certificate names IP 127.0.0.1
    a => "ws_redis 127.0.0.1:$rport ssl timeout=1s;
          ws_redis_ssl_trusted_certificate $pki/ca.pem;
          $client_cert",
    # verified by host name (the default name is the host written here)
    b => "ws_redis localhost:$rport ssl timeout=1s;
          ws_redis_ssl_trusted_certificate $pki/ca.pem;
          $client_cert",
    wrong_ca => "ws_redis 127.0.0.1:$relay_port ssl timeout=1s;
          ws_redis_ssl_trusted_certificate $pki/stranger.pem;
          $client_cert",
    wrong_name => "ws_redis 127.0.0.1:$relay_port ssl timeout=1s;
          ws_redis_ssl_trusted_certificate $pki/ca.pem;
          ws_redis_ssl_name redis.example.com;
          $client_cert",
    no_client_cert => "ws_redis 127.0.0.1:$relay_port ssl timeout=1s;
          ws_redis_ssl_trusted_certificate $pki/ca.pem;",
    no_verify => "ws_redis 127.0.0.1:$rport ssl timeout=1s;
          ws_redis_ssl_trusted_certificate $pki/stranger.pem;
          ws_redis_ssl_verify off;
          $client_cert",
);

my $config = <<'CONF';
    location ~ ^/chat/(?<room>\w+)$ {
        ws_listen;
        ws_subscribe room:$room;
    }
    location = /local {
        ws_listen;
        ws_subscribe local:x;
    }
    location ~ ^/pub/(?<c>[\w:]+)$ { ws_publisher $c; }
    location = /readyz { ws_health ready; }
CONF

my @names = qw(a b wrong_ca wrong_name no_client_cert no_verify);
my (%node, %port);
my $next = test_port() + 2;
$port{$_} = $next++ for @names;

sub start_node {
    my ($n) = @_;
    $node{$n} = start_nginx(name => "node $n", log_level => 'info',
                            prefix => Test::NgxWs::servroot() . "-$n",
                            port => $port{$n},
                            http_config => "ws_zone tls 4m;\n$http{$n}\n"
                                           . "ws_redis_channels room:*;",
                            config => $config);
}

# The nodes that connect; those refused are started one at a time below,
# so that Redis's count of connections is theirs alone.
start_node($_) for qw(a b no_verify);


sub request {
    my ($n, $method, $uri, $body) = @_;
    my $raw = "$method $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    $raw .= "Content-Length: " . length($body) . "\r\n" if defined $body;
    $raw .= "\r\n" . ($body // '');
    return http_request(raw => $raw, port => $port{$n}, timeout => 10);
}

sub lines {
    my ($n, $re) = @_;
    return scalar grep { $_ =~ $re } split /\n/, $node{$n}->error_log;
}

# The next data message; the server's pings (the file runs past the 30s
# default interval) are answered on the way.
sub text_of {
    my ($ws) = @_;
    while (1) {
        my $m = eval { $ws->read_message(5) };
        return 'nothing: ' . ($@ || 'EOF') unless $m;
        return $m->{payload} unless $m->{op} eq 'ping';
        $ws->send_pong($m->{payload});
    }
}

# ---------------------------------------------------------------- #
# Verified TLS: messages cross between the nodes
# ---------------------------------------------------------------- #

for my $n (qw(a b)) {
    ok(wait_for(sub { lines($n, qr/redis \S+:$rport is up \(subscribe link, TLS\)/)
                      && lines($n, qr/is up \(publish link, TLS\)/) }, 10),
       "node $n: both links up over TLS, certificate verified");
    is(request($n, 'GET', '/readyz')->{status}, 200, "node $n is ready");
}

my %sub = map { $_ => ws_connect(port => $port{$_}, uri => '/chat/tls') } qw(a b);
ok(wait_for(sub { (decode_json(request($_, 'GET', '/pub/room:tls')->{body})
                   ->{subscribers} // 0) == 1 }, 5),
   "node $_: subscriber registered") for qw(a b);

my $res = request('a', 'POST', '/pub/room:tls', 'over tls from a');
is($res->{status}, 200, 'publish on node a through TLS Redis: 200');
is(text_of($sub{$_}), 'over tls from a', "node $_ receives it") for qw(a b);

# larger than any TLS record and socket buffer: partial writes and reads
my $big = join '', map { chr(65 + $_ % 26) } 1 .. 300_000;
$res = request('b', 'POST', '/pub/room:tls', $big);
is($res->{status}, 200, 'a 300 KB publish on node b: 200');
for my $n (qw(a b)) {
    my $got = text_of($sub{$n});
    ok($got eq $big, "node $n receives the 300 KB message intact")
        or diag('got ' . length($got) . ' bytes');
}

# ---------------------------------------------------------------- #
# Refused TLS: the link stays down, says why once, nothing else breaks
# ---------------------------------------------------------------- #

my %why = (
    wrong_ca => qr/is down \(publish link\): certificate verify failed: /,
    wrong_name => qr/is down \(publish link\): certificate does not match "redis\.example\.com"/,
    # Redis refuses the handshake, or (TLS 1.3) closes right after it
    no_client_cert => qr/is down \(publish link\): /,
);

my $relay = start_relay();
for my $n (sort keys %why) {
    my $before = relayed();
    start_node($n);
    ok(wait_for(sub { lines($n, $why{$n}) }, 5), "$n: the link is down and says why")
        or diag(Test::NgxWs::log_excerpt("$node{$n}{prefix}/logs/error.log"));

    # "once" means something only after retries: its two links (publish,
    # subscribe) have tried at least 8 times in all
    my $attempts = 0;
    ok(wait_for(sub { ($attempts = relayed() - $before) >= 8 }, 10),
       "$n: the links keep retrying ($attempts connections to Redis)");
    is(lines($n, qr/is down \(publish link\)/), 1, "$n: logged once, not once per retry");
    is(lines($n, qr/is down \(subscribe link\)/), 1, "$n: the subscribe link too");
    is(lines($n, qr/is up/), 0, "$n: never up");
    # NGINX's own line on the first failure (the TLS alert Redis sent, at
    # NGINX's level for it) is kept, once per link: the detail helps
    ok(lines($n, qr/SSL_\w+\(\) failed/) <= 2, "$n: NGINX's TLS error at most once per link");
    is(lines($n, qr/\[(?:alert|emerg)\]|\[crit\](?!.*SSL_\w+\(\) failed)/), 0, "$n: no alert");
    is(request($n, 'GET', '/readyz')->{status}, 503, "$n: not ready");
    is(request($n, 'POST', '/pub/room:tls', 'x')->{status}, 503,
       "$n: a cross-node publish is refused");

    my $local = ws_connect(port => $port{$n}, uri => '/local');
    ok(wait_for(sub { (decode_json(request($n, 'GET', '/pub/local:x')->{body})
                       ->{subscribers} // 0) == 1 }, 5), "$n: local subscriber registered");
    is(request($n, 'POST', '/pub/local:x', 'still local')->{status}, 200,
       "$n: a local channel still publishes");
    is(text_of($local), 'still local', "$n: and delivers");
    $local->disconnect;
    # allowed: NGINX's own [crit] for the TLS alert Redis answers with
    # (no_client_cert, TLS 1.3: "alert certificate required")
    check_logs($node{$n}, undef,
               allow => qr/\[crit\] .*SSL_\w+\(\) failed \(SSL: .* alert .*ws redis \w+ link/);
}
kill 'TERM', $relay;
waitpid $relay, 0;

ok(wait_for(sub { lines('no_verify', qr/is up \(publish link, TLS\)/) }, 5),
   'ws_redis_ssl_verify off: connects to a server no CA vouches for');

# ---------------------------------------------------------------- #
# Redis killed and restarted: TLS links come back by themselves
# ---------------------------------------------------------------- #

$redis->kill_server;
for my $n (qw(a b)) {
    ok(wait_for(sub { request($n, 'GET', '/readyz')->{status} == 503 }, 5),
       "node $n: not ready while Redis is gone");
}
$redis->start;
for my $n (qw(a b)) {
    ok(wait_for(sub { request($n, 'GET', '/readyz')->{status} == 200
                      && lines($n, qr/is up \(subscribe link, TLS\)/) == 2 }, 10),
       "node $n: reconnected over TLS");
}
$res = request('b', 'POST', '/pub/room:tls', 'after the restart');
is($res->{status}, 200, 'publish after the restart: 200');
is(text_of($sub{$_}), 'after the restart', "node $_ receives it") for qw(a b);

%sub = ();    # closed now: no close handshake for the shutdown to wait on
check_logs($node{$_}) for qw(a b no_verify);

remove_tree($pki);
done_testing();
