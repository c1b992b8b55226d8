# Chaos: fifty reloads while a thousand clients exchange messages.
#
# The promise (docs/operations.md, "Reloads and shutdown"): on every
# reload each client of an old worker gets 1001 after every message
# acknowledged before it (nothing acknowledged missing, in order), with
# the resume point; it comes back and resumes from there with nothing
# lost (ws_channel_history); every old worker exits; the zone does not
# leak (its free pages back to the level before, with the history as
# full as then); the workers' and the master's memory stays flat.
#
# Measured with t/reload_clients.py: 1,000 JSON-protocol clients over 20
# rooms from 4 source addresses, each publishing now and then (acked with
# its number), plus an HTTP publisher POSTing to every room every 100 ms;
# each round connects them all (resuming with the last round's last_seq),
# publishes for 0.3 s, reloads, and waits for every 1001 and for the old
# workers to be gone. "Before" is judged by the kernel's receive
# timestamps of the acknowledgement and of the close frame.
use Test::NgxWs;
use JSON::PP ();

use constant CLIENTS => $ENV{NGX_WS_RELOAD_CLIENTS} // 1000;
use constant RELOADS => $ENV{NGX_WS_RELOADS} // 50;

plan(skip_all => 'needs root: 20,000 descriptors per process')
    unless $> == 0;

my $port = test_port();
my $ngx = start_nginx(name => 'reload storm', log_level => 'notice',
    main_config => "worker_processes 2;\nworker_rlimit_nofile 20000;\n"
                   . "events { worker_connections 8192; }",
    listen_options => 'reuseport backlog=4096',
    http_config => "ws_zone storm 16m;\nws_channel_history 100 1h;",
    config => <<'CONF');
    location = /ws {
        ws_listen; ws_protocol json; ws_channels_allow room:*;
        add_header X-Worker $pid always;
    }
    location ~ ^/pub/(?<c>[\w:]+)$ { ws_publisher $c; }
    location = /metrics { ws_status; }
CONF

my $t0 = time;
my $opts = JSON::PP::encode_json({ port => $port, master => $ngx->{pid},
    json => CLIENTS, rooms => 20, reloads => RELOADS, settle => 0.3,
    pub_interval => 0.1, client_pubs => 0.1, sources => 4,
    warmup => 110, wait => 20 });
my $out = run_bounded("ulimit -n 20000; /usr/bin/python3 " . repo_root()
                      . "/t/reload_clients.py '$opts'", timeout => 900);
my ($line) = grep { /"closes"/ } split /\n/, $out;
my $r = eval { JSON::PP::decode_json($line // '') };
ok($r, 'the clients ran and reported') or diag(substr($out, -3000));
$r //= {};
my $took = time - $t0;

my $conns = CLIENTS * RELOADS;
is($r->{closes}, $conns, "$conns connections (" . CLIENTS . ' clients x '
                         . RELOADS . ' reloads), each ended by a 1001');
is_deeply([$r->{no_close}, $r->{bad_code}, $r->{no_cut}, $r->{no_ack},
           $r->{refused}], [0, [], 0, 0, 0],
          'none without a close, with another code, without a resume '
          . 'point, unacknowledged, or refused')
    or diag(JSON::PP::encode_json({ map { $_ => $r->{$_} }
        qw(no_close bad_code no_cut no_ack refused) }));
is($r->{order_count}, 0, 'every connection got every message numbered up '
                         . 'to its resume point, in order, once (the '
                         . 'resumed ones from their last cut on)')
    or diag(JSON::PP::encode_json($r->{order}));
is($r->{late_count}, 0, 'no message acknowledged before a 1001 reached its '
                        . 'client is missing')
    or diag(JSON::PP::encode_json($r->{late}));
is($r->{gaps}, 0, 'no resume found a gap: nothing lost across the reloads');
is_deeply($r->{failed_publishes}, [], 'every HTTP publish answered 200');
ok(!grep({ $_ != 2 } @{ $r->{workers_per_round} // [] }),
   'each round had clients on both workers');
is($r->{old_left}, 0, 'every old worker exited');

# Sampled after each round, with no client connected and the queues
# empty: round 1 is the first after a reload, when the zone has taken what
# a reload takes once (the counters of the old workers, kept for the
# totals) and the master its second configuration.
my @free = @{ $r->{zone_free} // [] };
my @master = @{ $r->{master_rss} // [] };
note("zone free bytes: before $r->{zone_free_before}, after each round: "
     . join(' ', @free));
note("master RSS KiB: before $r->{master_rss_before}, after each round: "
     . join(' ', @master));
my ($free_min) = sort { $a <=> $b } @free;
cmp_ok($free_min // -1, '>=', $free[0] // 0,
       'zone free pages never below the level after the first reload ('
       . ($free[0] // '?') . ' bytes; lowest ' . ($free_min // '?')
       . ', last ' . ($free[-1] // '?') . ')');
# a worker's counters are 5.3 KiB (the proxy's, per location, among
# them): two 4 KiB pages of the slab for each of the two old workers
cmp_ok($free[-1] // -1, '>=', ($r->{zone_free_before} // 0) - 2 * 8192,
       'and within the old workers\' counters (2 x 8 KiB) of the level '
       . "before any reload ($r->{zone_free_before} bytes)");

my @rss = @{ $r->{worker_rss} // [] };
my $first = $rss[1] // [0];     # round 2: the first with a full history
my $last = $rss[-1] // [1e9];
cmp_ok($last->[-1], '<=', $first->[-1] + 4096,
       "worker RSS flat: largest $first->[-1] KiB in round 2, "
       . "$last->[-1] KiB in the last");
my ($master_max) = sort { $b <=> $a } @master;
cmp_ok($master_max // 1e9, '<=', ($master[1] // 0) + 1024,
       "master RSS flat: $master[1] KiB after round 2, at most "
       . ($master_max // '?') . ' KiB after any later round');

my @gone = sort { $a <=> $b } @{ $r->{old_gone_s} // [0] };
note(sprintf('measured: %d s, %d acknowledged publishes, %d deliveries, '
             . 'old workers gone after a median %.2f s, at most %.2f s',
             $took, $r->{acked} // 0, $r->{delivered} // 0,
             $gone[@gone / 2], $gone[-1]));
check_logs($ngx);
done_testing();
