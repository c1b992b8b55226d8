#!/usr/bin/env bash
# Cross-node fan-out through Redis against local fan-out (part of `make
# bench`): a private redis-server and two ngx_ws nodes built from
# conf_examples/cluster (one worker each, on private ports), and wsload's
# fanout mode in three set-ups of the same channel traffic:
#
#   local       subscribers and publisher on node 1, a channel outside
#               ws_redis_channels: the zone alone
#   via-redis   the same, but a cross-node channel: node 1 -> Redis -> node 1
#   cross-node  subscribers on node 2, publisher on node 1
#
# Every set-up gets the same publisher: PUBLISH_CONNECTIONS keep-alive
# connections, each POST on the one with the fewest unanswered. NGINX
# answers one connection's requests one at a time and a cross-node publish
# waits for Redis, so on one connection via-redis publishes one message per
# Redis round trip plus a loop pass of node 1's worker, whose fan-out to
# the subscribers is in that pass: the 1-connection rows show that cap
# (what one publishing connection gets). With k connections up to k
# publishes share a pass; 32 keep 1000/s in flight through passes of up to
# ~30 ms (8 reached 734/s of 1000 on a quiet machine), so those rows show
# the fan-out itself.
#
# Writes bench/results/cluster.md. Knobs: SUBS (1000), RATES ("100 1000"),
# PUBLISH_CONNECTIONS ("1 32"), DURATION (5), RUNS (3), BASE_PORT (18960),
# NGINX (/usr/sbin/nginx).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
BUILD="$REPO/build/bench-tool"
NGINX=${NGINX:-/usr/sbin/nginx}
SUBS=${SUBS:-1000}
RATES=${RATES:-"100 1000"}
PUBLISH_CONNECTIONS=${PUBLISH_CONNECTIONS:-"1 32"}
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
BASE_PORT=${BASE_PORT:-18960}
WORK=$(mktemp -d /tmp/bench-cluster.XXXXXX)
chmod 755 "$WORK"
OUT="$BENCH_DIR/results/cluster.md"
N1=$BASE_PORT N2=$((BASE_PORT + 1)) RP=$((BASE_PORT + 2))

cleanup() {
    for n in node1 node2; do
        [ -f "$WORK/logs/$n.pid" ] && kill -QUIT "$(cat "$WORK/logs/$n.pid")" 2>/dev/null || true
    done
    [ -f "$WORK/redis/redis.pid" ] && kill "$(cat "$WORK/redis/redis.pid")" 2>/dev/null || true
}
trap cleanup EXIT

ulimit -n "$(ulimit -Hn)"

echo "== building wsload"
cmake -S "$BENCH_DIR" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null

# the example's configs on private ports, one worker, a publisher that
# keeps its connection, and a local channel next to the shared rooms
mkdir -p "$WORK"/{conf,logs,modules,temp,html,redis}
ln -s "$REPO/build/ngx_http_ws_module.so" "$WORK/modules/"
for f in "$REPO"/conf_examples/cluster/*.conf; do
    sed -e "s/127\.0\.0\.1:8081/127.0.0.1:$N1/; s/127\.0\.0\.1:8082/127.0.0.1:$N2/" \
        -e "s/127\.0\.0\.1:6390/127.0.0.1:$RP/; s/^port 6390/port $RP/" \
        -e "s/^worker_processes 2;/worker_processes 1;\nworker_rlimit_nofile 20000;/" \
        -e "s/worker_connections 4096;/worker_connections 19000;/" \
        -e "s/^error_log \(.*\) info;/error_log \1 warn;/" \
        -e "s/^ws_redis_channels room:\*;/ws_redis_channels room:*;\nkeepalive_requests 100000000;/" \
        "$f" >"$WORK/conf/$(basename "$f")"
done
# "local:<name>" rooms: the same locations on a channel Redis never sees
cat >>"$WORK/conf/cluster-locations.conf" <<'CONF'
location ~ "^/local/(?<room>[A-Za-z0-9_-]{1,64})$" { ws_listen; ws_subscribe local:$room; }
location ~ "^/lpub/(?<room>[A-Za-z0-9_-]{1,64})$" { ws_publisher local:$room; }
CONF
sed -i 's/^    allow 127.0.0.1;$/    allow 127.0.0.0\/8;/' "$WORK/conf/cluster-locations.conf"

redis-server "$WORK/conf/redis.conf" --dir "$WORK/redis" --daemonize yes \
    --pidfile "$WORK/redis/redis.pid" --logfile "$WORK/logs/redis.log"
for n in node1 node2; do "$NGINX" -p "$WORK/" -c "conf/$n.conf"; done
sleep 1
PID1=$(cat "$WORK/logs/node1.pid")

mkdir -p "$BENCH_DIR/results"
{
    echo "# Cross-node fan-out through Redis vs local"
    echo
    echo "$SUBS subscribers, ${DURATION}s per run, median of $RUNS runs;"
    echo "one worker per node; server CPU is node 1's (both nodes and Redis"
    echo "share this machine's $(nproc) cores with wsload). $(date -u '+%F %H:%M') UTC,"
    echo "commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown),"
    echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the start."
    echo
    echo "| set-up | publish connections | publishes/s | deliveries/s | p50 latency | p99 latency | delivered |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
} >"$OUT"

for pubs in $PUBLISH_CONNECTIONS; do
    for rate in $RATES; do
        for setup in local via-redis cross-node; do
            case $setup in
                local)      sub="ws://127.0.0.1:$N1/local"; pub="http://127.0.0.1:$N1/lpub" ;;
                via-redis)  sub="ws://127.0.0.1:$N1/chat";  pub="http://127.0.0.1:$N1/pub" ;;
                cross-node) sub="ws://127.0.0.1:$N2/chat";  pub="http://127.0.0.1:$N1/pub" ;;
            esac
            results=()
            for run in $(seq 1 "$RUNS"); do
                ch="c${setup%%-*}r${rate}p${pubs}n${run}"
                line=$("$BUILD/wsload" fanout --url "$sub/$ch" --publish "$pub/$ch" \
                           --connections "$SUBS" --rate "$rate" --duration "$DURATION" \
                           --publish-connections "$pubs" \
                           --sources 8 --label "$setup" --server-pid "$PID1" | tail -1)
                echo "  $setup $rate/s over $pubs connection(s), run $run: $line"
                results+=("$line")
            done
            printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rs = [json.loads(l) for l in sys.stdin if l.strip()]
med = lambda k: statistics.median(r.get(k, 0) for r in rs)
print("| %s | %s | %.0f | %.0f | %.0f us | %.0f us | %.4f |" % (sys.argv[1],
      sys.argv[2], med("publish_rate"), med("rate"), med("p50_us"),
      med("p99_us"), med("delivery_ratio")))
    ' "$setup" "$pubs" >>"$OUT"
        done
    done
done

for n in node1 node2; do
    if grep -E '\[(alert|crit|emerg)\]' "$WORK/logs/$n-error.log"; then
        echo "$n logged alerts: see $WORK/logs" >&2
        exit 1
    fi
done
echo "== $OUT"
cat "$OUT"
