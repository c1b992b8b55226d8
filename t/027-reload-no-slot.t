# When reloads outrun the old workers: every queue slot of ws_zone held.
#
# Each worker process, old or new, owns a queue slot in the zone until it
# exits (docs/operations.md, "Reloads and shutdown"): 4 per worker process,
# at least 16. Old workers that never finish (here each holds an HTTP
# request to an upstream that never answers) keep theirs, so after enough
# reloads a new worker finds none. The documented answer: one alert line,
# and the worker still serves, its subscribers getting what is published
# in that worker. Once the old workers are gone the slots are free again.
use Test::NgxWs;
use Test::More;
use IO::Socket::INET;

my $port = test_port();
my $silent_port = $port + 1;

# An upstream that takes connections and never answers.
my $silent = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$silent_port",
                                   Listen => 64, ReuseAddr => 1)
    or die "listen $silent_port: $!";

my $ngx = start_nginx(name => 'reload without a free slot', log_level => 'info',
    main_config => 'worker_processes 1;',
    http_config => "ws_zone noslot 1m;",
    config => <<"CONF");
    location = /sub { ws_listen; ws_subscribe room:0; }
    location ~ ^/pub/(?<c>[\\w:]+)\$ { ws_publisher \$c; }
    location = /hold {
        proxy_pass http://127.0.0.1:$silent_port;
        proxy_read_timeout 120s;
    }
CONF

my $master = $ngx->{pid};
my $prefix = $ngx->{prefix};
my $alert = qr/no free queue slot in ws_zone/;

sub shutting_down {
    my ($pid) = @_;
    return (Test::NgxWs::slurp("/proc/$pid/cmdline") // '') =~ /shutting down/;
}

# One request held by the current worker, then a reload: the worker that
# served it stays, shutting down, as long as the request lasts.
my @held;
my @upstream;
sub hold_then_reload {
    my %before = map { $_ => 1 } $ngx->workers;
    my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die $!;
    print $c "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n";
    push @held, $c;
    $silent->blocking(1);
    my $up = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 5;
        my $s = $silent->accept;
        alarm 0;
        $s;
    };
    die "the held request never reached the upstream\n" unless $up;
    push @upstream, $up;
    $ngx->signal('HUP');
    my @new;
    wait_for(sub { @new = grep { !$before{$_} } Test::NgxWs::worker_pids($master);
                   @new == 1 }, 10)
        or die "no new worker after the reload\n";
    # the next request must reach the new worker: wait until the old ones
    # have closed their listening sockets (their title says so)
    wait_for(sub { !grep { $_ != $new[0] && !shutting_down($_) }
                         Test::NgxWs::worker_pids($master) }, 10)
        or die "the old workers did not start shutting down\n";
    return $new[0];
}

my $slots = 16;   # worker_processes 1: the minimum
my $worker;
$worker = hold_then_reload() for 1 .. $slots - 1;

my @workers = Test::NgxWs::worker_pids($master);
is(scalar @workers, $slots, "$slots worker processes: the new one and "
                            . ($slots - 1) . " old ones holding a request");
unlike($ngx->error_log, $alert, 'each of them found a free slot');

$worker = hold_then_reload();
ok(wait_for(sub { $ngx->error_log =~ $alert }, 5),
   'the worker started with every slot held says so, at alert');
my $n = () = $ngx->error_log =~ /$alert/g;
is($n, 1, 'once');

my $ws = ws_connect(uri => '/sub');
my $res = http_request(port => $port, raw => "POST /pub/room:0 HTTP/1.1\r\n"
    . "Host: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nlocal");
like($res->{status}, qr/^20\d$/, 'a publish in that worker is taken');
$ws->expect('text local', 'its subscriber gets it: the worker still serves');

# The old workers finish their requests and exit: slots free again.
close $_ for @upstream, @held;
@upstream = @held = ();
ok(wait_for(sub { Test::NgxWs::worker_pids($master) == 1 }, 15),
   'the old workers exit once their requests are over');

my $log_before = length $ngx->error_log;
$ngx->signal('HUP');
# The subscriber answers the old worker's 1001 (reading it sends the close
# reply), so the old worker's exit does not wait on ws_close_timeout: this
# file is about queue slots; the close timeout has tests of its own.
ok(wait_for(sub { eval { $ws->read_message(0.05) };
                  my @w = Test::NgxWs::worker_pids($master);
                  @w == 1 && $w[0] != $worker }, 10),
   'a reload once they are gone');
$ws = ws_connect(uri => '/sub');
$res = http_request(port => $port, raw => "POST /pub/room:0 HTTP/1.1\r\n"
    . "Host: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nagain");
$ws->expect('text again', 'the new worker delivers');
unlike(substr($ngx->error_log, $log_before), $alert,
       'and found a free slot: the exited workers gave theirs back');

check_logs($ngx, undef, allow => [$alert, qr/upstream prematurely closed/]);
done_testing();
