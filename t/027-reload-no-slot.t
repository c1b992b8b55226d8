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
use Test::NgxWs::HeldWorkers;
use Test::More;

my $port = test_port();

# Each old worker holds an HTTP request to an upstream that never answers.
my $hold = Test::NgxWs::HeldWorkers->new(port => $port + 1);

my $ngx = start_nginx(name => 'reload without a free slot', log_level => 'info',
    main_config => 'worker_processes 1;',
    http_config => "ws_zone noslot 1m;",
    config => <<"CONF" . $hold->location);
    location = /sub { ws_listen; ws_subscribe room:0; }
    location ~ ^/pub/(?<c>[\\w:]+)\$ { ws_publisher \$c; }
CONF

my $master = $ngx->{pid};
my $alert = qr/no free queue slot in ws_zone/;

sub hold_then_reload { $hold->hold_then_reload($ngx, $port) }

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
$hold->release;
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
