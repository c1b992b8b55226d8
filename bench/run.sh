#!/usr/bin/env bash
# Builds wsload, starts the servers under test on private ports, runs the
# echo and fan-out workloads, and writes bench/results/latest.md (table) and
# bench/results/latest.jsonl (one JSON line per run).
#
# Knobs (environment): DURATION (s, default 10), ECHO_CONNS (1000), SIZE (64),
# PIPELINE (1), FANOUT_SUBS (1000), FANOUT_RATES (publishes/s, "100 1000":
# one rate the servers can follow, one that saturates a worker),
# DEFLATE_RATES (ngx_ws fan-out of DEFLATE_SIZE-byte (200) chat messages
# without deflate, and with shared and per-connection compression, "1000";
# empty skips it),
# BASE_PORT (18930), NGINX (/usr/sbin/nginx).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
BUILD="$REPO/build/bench-tool"
MODULE="$REPO/build/ngx_http_ws_module.so"
NCHAN_MODULE=/usr/lib/nginx/modules/ngx_nchan_module.so
NGINX=${NGINX:-/usr/sbin/nginx}
DURATION=${DURATION:-10}
ECHO_CONNS=${ECHO_CONNS:-1000}
SIZE=${SIZE:-64}
PIPELINE=${PIPELINE:-1}
FANOUT_SUBS=${FANOUT_SUBS:-1000}
FANOUT_RATES=${FANOUT_RATES:-"100 1000"}
DEFLATE_RATES=${DEFLATE_RATES-"1000"}
DEFLATE_SIZE=${DEFLATE_SIZE:-200}
BASE_PORT=${BASE_PORT:-18930}
RESULTS="$BENCH_DIR/results"
WORK=$(mktemp -d /tmp/bench-run.XXXXXX)
# Workers run as an unprivileged user: they must reach the prefix.
chmod 755 "$WORK"
JSONL="$RESULTS/latest.jsonl"
MD="$RESULTS/latest.md"
SERVER_NOTES="$WORK/server-notes.md"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

mkdir -p "$RESULTS"
: >"$JSONL"

echo "== building wsload"
cmake -S "$BENCH_DIR" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
WSLOAD="$BUILD/wsload"

[ -f "$MODULE" ] || { echo "missing $MODULE: run 'make module' first" >&2; exit 1; }

# One prefix per server: own pid, logs and temp paths, foreground, 1 worker.
# $1 name, $2 port, $3 load_module line, $4 http-level lines, $5 locations
start_nginx() {
    local name=$1 port=$2 load=$3 http_extra=$4 locations=$5
    local prefix="$WORK/$name"
    mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/temp" "$prefix/cores"
    # Cores are written by the worker's (unprivileged) user.
    chmod 1777 "$prefix/cores"
    cat >"$prefix/conf/nginx.conf" <<CONF
$load
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid logs/nginx.pid;
# A crashing worker leaves a core in the prefix for gdb.
worker_rlimit_core 1g;
working_directory $prefix/cores;
error_log logs/error.log warn;
events { worker_connections 10000; }
http {
    client_body_temp_path temp/body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;
    # Both servers log nothing per request, so neither pays for a log line
    # per publish.
    access_log off;
    # The publisher keeps one connection; the stock 1000 would close it.
    keepalive_requests 100000000;
    $http_extra
    server {
        listen 127.0.0.1:$port backlog=4096;
        $locations
    }
}
CONF
    "$NGINX" -p "$prefix" -c conf/nginx.conf -t -q
    "$NGINX" -p "$prefix" -c conf/nginx.conf &
    PIDS+=($!)
    LAST_PID=$!
    wait_port "$port"
}

# Worker crashes and alerts do not show in wsload's figures; the table must
# say when they happened. $1 name
check_server_log() {
    local log="$WORK/$1/logs/error.log"
    local crashes alerts
    crashes=$(grep -c 'exited on signal' "$log" || true)
    alerts=$(grep -c '\[\(alert\|crit\|emerg\)\]' "$log" || true)
    if [ "$crashes" != 0 ] || [ "$alerts" != 0 ]; then
        echo "- $1: error.log has $crashes worker crash(es), $alerts alert/crit line(s); first:" \
             "\`$(grep -m1 '\[\(alert\|crit\|emerg\)\]' "$log" | cut -c1-200)\`" \
             "(log and any core kept in $WORK/$1)" >>"$SERVER_NOTES"
    fi
}

wait_port() {
    for _ in $(seq 1 100); do
        if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2
    return 1
}

# $1 label, rest: wsload arguments. Appends the JSON line; echoes the human line.
run_wsload() {
    local label=$1; shift
    local out
    if out=$("$WSLOAD" "$@" --label "$label" 2>"$WORK/$label.$1.err"); then
        echo "$out" | head -1
        echo "$out" | tail -1 >>"$JSONL"
        cat "$WORK/$label.$1.err" >&2
    else
        echo "wsload $label $1 failed:" >&2
        cat "$WORK/$label.$1.err" >&2
    fi
}

# --- ngx_ws ---------------------------------------------------------------
WS_PORT=$BASE_PORT
start_nginx ngx_ws "$WS_PORT" "load_module $MODULE;" "ws_zone bench 64m;" '
        location = /echo { ws_listen; ws_echo on; }
        location ~ "^/sub/(?<ch>[a-z0-9]+)$" { ws_listen; ws_subscribe bench:$ch; }
        location ~ "^/zsub/(?<ch>[a-z0-9]+)$" {
            ws_listen; ws_subscribe bench:$ch; ws_deflate on;
        }
        location ~ "^/pub/(?<ch>[a-z0-9]+)$" { ws_publisher bench:$ch; }'
WS_PID=$LAST_PID

echo "== ngx_ws echo: $ECHO_CONNS connections, $SIZE B, pipeline $PIPELINE, ${DURATION}s"
run_wsload ngx_ws echo --url "ws://127.0.0.1:$WS_PORT/echo" --connections "$ECHO_CONNS" \
    --size "$SIZE" --pipeline "$PIPELINE" --duration "$DURATION" --server-pid "$WS_PID"
for rate in $FANOUT_RATES; do
    # A fresh channel per rate, so no run inherits another's backlog.
    echo "== ngx_ws fanout: $FANOUT_SUBS subscribers, $rate msg/s, ${DURATION}s"
    run_wsload ngx_ws fanout --url "ws://127.0.0.1:$WS_PORT/sub/r$rate" \
        --publish "http://127.0.0.1:$WS_PORT/pub/r$rate" --connections "$FANOUT_SUBS" \
        --rate "$rate" --duration "$DURATION" --server-pid "$WS_PID"
done
# permessage-deflate: "shared" subscribers agree to no server context
# takeover and get one frame compressed once per worker; "own" ones are
# compressed one by one, each in its own context.
for rate in $DEFLATE_RATES; do
    for mode in off shared own; do
        echo "== ngx_ws fanout, deflate $mode: $FANOUT_SUBS subscribers, $DEFLATE_SIZE B," \
             "$rate msg/s, ${DURATION}s"
        sub=zsub; deflate=(--deflate "$mode")
        if [ "$mode" = off ]; then sub=sub; deflate=(); fi
        run_wsload "ngx_ws_deflate_$mode" fanout \
            --url "ws://127.0.0.1:$WS_PORT/$sub/z$mode$rate" \
            --publish "http://127.0.0.1:$WS_PORT/pub/z$mode$rate" --connections "$FANOUT_SUBS" \
            --size "$DEFLATE_SIZE" --rate "$rate" --duration "$DURATION" \
            --server-pid "$WS_PID" "${deflate[@]}"
    done
done
kill "$WS_PID"; wait "$WS_PID" 2>/dev/null || true
check_server_log ngx_ws

# --- nchan (Debian libnginx-mod-nchan), same fan-out workload ---------------
if [ ! -f "$NCHAN_MODULE" ]; then
    apt-get install -y libnginx-mod-nchan >/dev/null 2>&1 || true
fi
if [ -f "$NCHAN_MODULE" ]; then
    NCHAN_PORT=$((BASE_PORT + 1))
    start_nginx nchan "$NCHAN_PORT" "load_module $NCHAN_MODULE;" "" '
        location ~ "^/sub/([a-z0-9]+)$" { nchan_subscriber websocket; nchan_channel_id $1; }
        location ~ "^/pub/([a-z0-9]+)$" { nchan_publisher; nchan_channel_id $1; }'
    NCHAN_PID=$LAST_PID
    for rate in $FANOUT_RATES; do
        echo "== nchan fanout: $FANOUT_SUBS subscribers, $rate msg/s, ${DURATION}s"
        run_wsload nchan fanout --url "ws://127.0.0.1:$NCHAN_PORT/sub/r$rate" \
            --publish "http://127.0.0.1:$NCHAN_PORT/pub/r$rate" --connections "$FANOUT_SUBS" \
            --rate "$rate" --duration "$DURATION" --server-pid "$NCHAN_PID"
    done
    kill "$NCHAN_PID"; wait "$NCHAN_PID" 2>/dev/null || true
    check_server_log nchan
else
    echo "== nchan not available (libnginx-mod-nchan could not be installed); skipped"
fi

# --- Node ws echo server (Debian node-ws) ------------------------------------
if command -v node >/dev/null && [ -d /usr/share/nodejs/ws ]; then
    NODE_PORT=$((BASE_PORT + 2))
    NODE_PATH=/usr/share/nodejs node "$BENCH_DIR/node_echo_server.js" "$NODE_PORT" \
        >"$WORK/node.log" 2>&1 &
    NODE_PID=$!
    PIDS+=("$NODE_PID")
    wait_port "$NODE_PORT"
    echo "== node ws echo: $ECHO_CONNS connections, $SIZE B, pipeline $PIPELINE, ${DURATION}s"
    run_wsload node_ws echo --url "ws://127.0.0.1:$NODE_PORT/echo" \
        --connections "$ECHO_CONNS" --size "$SIZE" --pipeline "$PIPELINE" \
        --duration "$DURATION" --server-pid "$NODE_PID"
    kill "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true
else
    echo "== node or node-ws not available; node echo skipped"
fi

python3 "$BENCH_DIR/results_table.py" "$JSONL" >"$MD"
if [ -s "$SERVER_NOTES" ]; then
    { echo; echo "Server logs:"; echo; cat "$SERVER_NOTES"; } >>"$MD"
fi
echo
cat "$MD"
