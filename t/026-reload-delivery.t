# Reload delivers what was acknowledged, then says where to resume.
#
# The promise (docs/operations.md, "Reloads and shutdown"): a message whose
# publish was acknowledged before a subscriber's 1001 reaches that
# subscriber before the 1001, in order; the 1001 tells the subscriber the
# channel's number up to which it got everything (", last_seq=N" in the
# close reason; {"op":"going_away",...} before it for the JSON protocol).
#
# Measured with real clients (t/reload_clients.py): two workers, raw and
# JSON subscribers of one channel spread over both, a publisher POSTing
# every 10 ms on one keep-alive connection, a reload while it publishes;
# then the same again, the JSON clients resuming from the last_seq their
# 1001 gave them (ws_channel_history), which must replay every message
# published after it, no gap.
# "Before" is judged by the kernel's receive timestamps (SO_TIMESTAMPNS) of
# the acknowledgement and of the close frame, so how late the client
# process reads a socket does not matter.
use Test::NgxWs;
use JSON::PP ();

my $port = test_port();
my $ngx = start_nginx(name => 'reload delivery', log_level => 'info',
    main_config => 'worker_processes 2;', listen_options => 'reuseport',
    http_config => "ws_zone reload 4m;\nws_channel_history 1000 1h;",
    config => <<'CONF');
    location = /sub {
        ws_listen; ws_subscribe room:0;
        add_header X-Worker $pid always;
    }
    location = /ws {
        ws_listen; ws_protocol json; ws_channels_allow room:*;
        add_header X-Worker $pid always;
    }
    location ~ ^/pub/(?<c>[\w:]+)$ { ws_publisher $c; }
    location = /metrics { ws_status; }
CONF

my $opts = JSON::PP::encode_json({ port => $port, master => $ngx->{pid},
    raw => 16, json => 8, rooms => 1, reloads => 2, settle => 0.6,
    pub_interval => 0.01 });
my $out = run_bounded("/usr/bin/python3 " . repo_root()
                      . "/t/reload_clients.py '$opts'", timeout => 60);
my ($line) = grep { /^\{"acked"|"closes"/ } split /\n/, $out;
my $r = eval { JSON::PP::decode_json($line // '') };
ok($r, 'the clients ran and reported') or diag($out);
$r //= {};

my $clients = 16 + 8;
is_deeply($r->{workers_per_round}, [2, 2], 'the subscribers were spread '
                                           . 'over both workers, each time');
is($r->{closes}, 2 * $clients, "all $clients subscribers got 1001, twice");
is_deeply([$r->{no_close}, $r->{bad_code}, $r->{no_cut}, $r->{refused}],
          [0, [], 0, 0], 'none without a close, with another code, without '
                         . 'a resume point, or refused')
    or diag(JSON::PP::encode_json($r));
is($r->{order_count}, 0, 'each got every message numbered up to its resume '
                         . 'point, in order, once')
    or diag(JSON::PP::encode_json($r->{order}));
is($r->{late_count}, 0, 'no message acknowledged before a 1001 reached the '
                        . 'client is past its resume point (missing)')
    or diag(JSON::PP::encode_json($r->{late}));
is($r->{gaps}, 0, 'resuming from that point replayed everything after it '
                  . '(in order, checked above), no gap');
cmp_ok($r->{delivered} // 0, '>=', 2 * $clients * 40,
       "messages really flowed: $r->{delivered} deliveries, "
       . "$r->{acked} acknowledged publishes");
is_deeply($r->{failed_publishes}, [], 'every publish was answered 200');
is($r->{old_left}, 0, 'the old workers exited');
note("measured: old workers gone @{ $r->{old_gone_s} } s after the reloads");
check_logs($ngx);
done_testing();
