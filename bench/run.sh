#!/usr/bin/env bash
# The side-by-side benchmark behind `make bench`: builds wsload, starts each
# server under test on a private port, runs every workload RUNS times, and
# writes bench/results/latest.md (medians, min-max, ratios, goals) and
# bench/results/latest.jsonl (one JSON record per run).
#
# Servers: ngx_ws (this module), nchan (Debian libnginx-mod-nchan, on the
# same NGINX binary), Node ws (Debian node-ws), NGINX proxy_pass in front of
# Node ws (what users run today), the same two over TLS (ngx_ws's own wss://
# against NGINX terminating TLS in front of Node ws), and NGINX `return 204`
# (the cost of a connection without a WebSocket).
#
# Knobs (environment): RUNS (5), DURATION (s per run, 5), ECHO_CONNS (1000),
# SIZE (64), ECHO_PIPELINES (messages in flight per connection, "1 16"),
# FANOUT_CASES ("subscribers:publishes/s ...", "1000:1000 10000:10
# 10000:100"), FANOUT_WORKERS ("1 2"), IDLE_CONNS (10000),
# IDLE_SERVERS ("ngx_ws ngx_ws_wss nchan node_ws"), IDLE_WARM_UP (8
# connections opened and closed before the memory is first read; 0: none),
# DEFLATE_RATES (ngx_ws fan-out of DEFLATE_SIZE-byte (200) chat messages
# without deflate, and with shared and per-connection compression, "100"),
# CONNECT_CONCURRENCY (64), WORKLOADS ("echo echo_tls fanout deflate idle connect
# peers backend proxy"), BACKEND_CONNS ("1000 10"), BACKEND_UPSTREAMS ("return200
# demo"), BACKEND_SERVERS ("ngx_ws nchan node_ws"), BACKEND_KEEPALIVE (1024),
# BASE_PORT (18930), NGINX (/usr/sbin/nginx); the peers workload's cases
# (UWS_SERVER, PEER_ECHO_CASES, PEER_FANOUT_CASES, PEER_DEFLATE_CASES,
# PEER_PACED_CASES, PEER_CONNECT_CASES, below; an empty one runs none of
# its kind).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
BUILD="$REPO/build/bench-tool"
MODULE=${MODULE:-"$REPO/build/ngx_http_ws_module.so"}
NCHAN_MODULE=/usr/lib/nginx/modules/ngx_nchan_module.so
NGINX=${NGINX:-/usr/sbin/nginx}
RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
ECHO_CONNS=${ECHO_CONNS:-1000}
ECHO_PIPELINES=${ECHO_PIPELINES:-"1 16"}
SIZE=${SIZE:-64}
FANOUT_CASES=${FANOUT_CASES:-"1000:1000 10000:10 10000:100"}
FANOUT_WORKERS=${FANOUT_WORKERS:-"1 2"}
IDLE_CONNS=${IDLE_CONNS:-10000}
IDLE_SERVERS=${IDLE_SERVERS:-"ngx_ws ngx_ws_wss nchan node_ws"}
IDLE_WARM_UP=${IDLE_WARM_UP:-8}
CONNECT_CONCURRENCY=${CONNECT_CONCURRENCY:-64}
WORKLOADS=${WORKLOADS:-"echo echo_tls fanout deflate idle connect peers backend proxy"}
DEFLATE_RATES=${DEFLATE_RATES:-"100"}
DEFLATE_SIZE=${DEFLATE_SIZE:-200}
BASE_PORT=${BASE_PORT:-18930}
# The uWebSockets peer (bench/uws/): the binary bench/uws/build.sh made.
UWS_SERVER=${UWS_SERVER:-}
BASELINE_MODULE=${BASELINE_MODULE:-}
PEER_ECHO_CASES=${PEER_ECHO_CASES-"100:20 1000:20 100:1024 1000:1024 100:16384 10:1048576"}
PEER_FANOUT_CASES=${PEER_FANOUT_CASES-"1000:1:20 1000:8:20 10000:1:20 10000:8:20 1000:8:16384 100:1:1048576"}
PEER_DEFLATE_CASES=${PEER_DEFLATE_CASES-"1000:8:16384"}
# Fan-out at the same publish rate on both servers (subscribers:publishes
# per second:bytes), well below what either delivers flat out: the latency
# comparison. Flat out, the faster server accepts publishes faster than the
# client reads and its deliveries queue in the sockets, so its latency
# there measures its lead, not its delay.
PEER_PACED_CASES=${PEER_PACED_CASES-"1000:50:20 10000:5:20 1000:20:16384"}
# Handshakes (connect, upgrade, 101, reset) with this many at once.
PEER_CONNECT_CASES=${PEER_CONNECT_CASES-"50"}
RESULTS="$BENCH_DIR/results"
JSONL="$RESULTS/latest.jsonl"
PEERS_JSONL="$RESULTS/peers.jsonl"
MD="$RESULTS/latest.md"
WORK=$(mktemp -d /tmp/bench-run.XXXXXX)
# Workers run as an unprivileged user: they must reach the prefix.
chmod 755 "$WORK"
SERVER_NOTES="$WORK/server-notes.md"
GROUPS_RUNNING=()

# Server and client on different cores, so neither steals the other's: the
# server gets the first core, wsload the last. Servers with two workers get
# every core and share one with wsload (the table says so).
LAST_CPU=$(($(nproc) - 1))
SERVER_CPUS=0
CLIENT_CPUS=$LAST_CPU
if [ "$LAST_CPU" = 0 ]; then SERVER_CPUS=0; CLIENT_CPUS=0; fi

# wsload holds up to IDLE_CONNS sockets at once.
ulimit -n "$(ulimit -Hn)"

stop_group() {
    kill -TERM -- "-$1" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 -- "-$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL -- "-$1" 2>/dev/null || true
}

cleanup() {
    for pgid in "${GROUPS_RUNNING[@]}"; do stop_group "$pgid"; done
}
trap cleanup EXIT

wait_port() {
    for _ in $(seq 1 100); do
        if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2
    return 1
}

# Writes an NGINX prefix under $WORK. $1 name, $2 port, $3 workers,
# $4 load_module line, $5 http-level lines, $6 locations
write_nginx_conf() {
    local name=$1 port=$2 workers=$3 load=$4 http_extra=$5 locations=$6
    local prefix="$WORK/$name" listen_extra="" tls_lines=""
    # Two workers: the kernel spreads connections evenly only with reuseport.
    [ "$workers" -gt 1 ] && listen_extra=" reuseport"
    # LISTEN_TLS=1 (set by the caller): wss:// with the run's self-signed pair.
    if [ "${LISTEN_TLS:-0}" = 1 ]; then
        make_certificate
        listen_extra="$listen_extra ssl"
        tls_lines="ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem;"
    fi
    mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/temp" "$prefix/cores"
    # Cores are written by the worker's (unprivileged) user.
    chmod 1777 "$prefix/cores"
    cat >"$prefix/conf/nginx.conf" <<CONF
$load
daemon off;
master_process on;
worker_processes $workers;
worker_rlimit_nofile 20000;
pid logs/nginx.pid;
# A crashing worker leaves a core in the prefix for gdb.
worker_rlimit_core 1g;
working_directory $prefix/cores;
error_log logs/error.log warn;
events { worker_connections 19000; }
http {
    client_body_temp_path temp/body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;
    # No server logs a line per request, so none pays for one per publish.
    access_log off;
    # The publisher keeps one connection; the stock 1000 would close it.
    keepalive_requests 100000000;
    $http_extra
    server {
        listen 127.0.0.1:$port backlog=4096$listen_extra;
        $tls_lines
        $locations
    }
}
CONF
    "$NGINX" -p "$prefix" -c conf/nginx.conf -t -q
}

# One self-signed certificate for the run's TLS servers (wsload does not
# verify it: see its --ca-file).
make_certificate() {
    [ -f "$WORK/cert.pem" ] && return 0
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
    chmod 644 "$WORK/key.pem"
}

# Starts a command in its own process group, pinned to $1 cpus; sets
# SERVER_PID (the group leader, whose tree wsload samples). $2 port, rest: cmd
start_server() {
    local cpus=$1 port=$2; shift 2
    setsid taskset -c "$cpus" "$@" &
    SERVER_PID=$!
    GROUPS_RUNNING+=("$SERVER_PID")
    wait_port "$port"
}

stop_server() {
    stop_group "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
}

server_cpus_for() { if [ "$1" -gt 1 ]; then echo "0-$LAST_CPU"; else echo "$SERVER_CPUS"; fi; }

start_ngx_ws() {  # $1 port, $2 workers
    write_nginx_conf "ngx_ws-w$2" "$1" "$2" "load_module $MODULE;" "ws_zone bench 64m;" '
        location = /echo { ws_listen; ws_echo on; }
        location ~ "^/sub/(?<ch>[a-z0-9]+)$" { ws_listen; ws_subscribe bench:$ch; }
        location ~ "^/zsub/(?<ch>[a-z0-9]+)$" {
            ws_listen; ws_subscribe bench:$ch; ws_deflate on;
        }
        location ~ "^/pub/(?<ch>[a-z0-9]+)$" { ws_publisher bench:$ch; }'
    start_server "$(server_cpus_for "$2")" "$1" "$NGINX" -p "$WORK/ngx_ws-w$2" -c conf/nginx.conf
}

start_nchan() {  # $1 port, $2 workers
    write_nginx_conf "nchan-w$2" "$1" "$2" "load_module $NCHAN_MODULE;" "" '
        location ~ "^/sub/([a-z0-9]+)$" { nchan_subscriber websocket; nchan_channel_id $1; }
        location ~ "^/pub/([a-z0-9]+)$" { nchan_publisher; nchan_channel_id $1; }'
    start_server "$(server_cpus_for "$2")" "$1" "$NGINX" -p "$WORK/nchan-w$2" -c conf/nginx.conf
}

start_node_echo() {  # $1 port
    start_server "$SERVER_CPUS" "$1" env NODE_PATH=/usr/share/nodejs \
        node "$BENCH_DIR/node_echo_server.js" "$1"
}

start_node_fanout() {  # $1 port
    start_server "$SERVER_CPUS" "$1" env NODE_PATH=/usr/share/nodejs \
        node "$BENCH_DIR/node_fanout_server.js" "$1"
}

# The /echo location in front of the Node ws echo on port $2: ngx_ws's
# frame-aware proxy ($1 ws_proxy_pass; $3, more of its directives) or
# NGINX's byte tunnel ($1 proxy_pass).
echo_proxy_location() {
    if [ "$1" = ws_proxy_pass ]; then
        echo "
        location = /echo {
            ws_listen;
            ws_proxy_pass ws://127.0.0.1:$2;
            ws_ping_interval 0;
            ${3:-}
        }"
    else
        echo "
        location = /echo {
            proxy_pass http://127.0.0.1:$2;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection upgrade;
            proxy_read_timeout 1h;
        }"
    fi
}

# NGINX proxying WebSockets to a Node ws echo server, both in one process
# group pinned to the server core, so the CPU figure covers both. Node is
# started first: NGINX answering before it listens would make 502s. With
# LISTEN_TLS=1 NGINX terminates TLS in front of Node (how users add wss://
# to a Node WebSocket server today).
start_nginx_proxy_node() {  # $1 port, $2 prefix name
    local node_port=$(($1 + 100)) name=$2
    if [ "$name" = ngx_ws_proxy_node ]; then
        # ngx_ws's frame-aware proxy in place of the byte tunnel
        write_nginx_conf "$name" "$1" 1 "load_module $MODULE;" "" \
            "$(echo_proxy_location ws_proxy_pass "$node_port")"
    else
        write_nginx_conf "$name" "$1" 1 "" "" \
            "$(echo_proxy_location proxy_pass "$node_port")"
    fi
    start_server "$SERVER_CPUS" "$1" bash -c "
        NODE_PATH=/usr/share/nodejs node '$BENCH_DIR/node_echo_server.js' $node_port &
        until (exec 3<>/dev/tcp/127.0.0.1/$node_port) 2>/dev/null; do sleep 0.1; done
        '$NGINX' -p '$WORK/$name' -c conf/nginx.conf &
        wait"
}

start_nginx_204() {  # $1 port
    write_nginx_conf nginx_204 "$1" 1 "" "keepalive_timeout 0;" '
        location = /204 { return 204; }'
    start_server "$SERVER_CPUS" "$1" "$NGINX" -p "$WORK/nginx_204" -c conf/nginx.conf
}

# Worker crashes and alerts do not show in wsload's figures; the table must
# say when they happened. $1 prefix name
check_server_log() {
    local log="$WORK/$1/logs/error.log"
    [ -f "$log" ] || return 0
    local crashes alerts
    crashes=$(grep -c 'exited on signal' "$log" || true)
    alerts=$(grep -c '\[\(alert\|crit\|emerg\)\]' "$log" || true)
    if [ "$crashes" != 0 ] || [ "$alerts" != 0 ]; then
        echo "- $1: error.log has $crashes worker crash(es), $alerts alert/crit line(s); first:" \
             "\`$(grep -m1 '\[\(alert\|crit\|emerg\)\]' "$log" | cut -c1-200)\`" \
             "(log and any core kept in $WORK/$1)" >>"$SERVER_NOTES"
    fi
}

# $1 label, $2 workers, $3 run number, rest: wsload mode and arguments.
# Appends the JSON record (with the server's worker count and the run
# number added); prints the human line.
RUN_FAILURES=0
run_wsload() {
    local label=$1 workers=$2 run=$3; shift 3
    local err="$WORK/wsload.$label.$1.$run.err" out
    if out=$(taskset -c "$CLIENT_CPUS" "$BUILD/wsload" "$@" --label "$label" \
                 --server-pid "$SERVER_PID" ${APP_PID:+--upstream-pid "$APP_PID"} 2>"$err"); then
        echo "  run $run: $(echo "$out" | head -1)"
        echo "$out" | tail -1 | sed "s/^{/{\"workers\":$workers,\"run\":$run,${EXTRA_JSON:-}/" \
            >>"${OUT_JSONL:-$JSONL}"
        sed 's/^/    /' "$err" >&2
    else
        echo "  run $run: wsload $label $1 failed:" >&2
        sed 's/^/    /' "$err" >&2
        RUN_FAILURES=$((RUN_FAILURES + 1))
    fi
}

# --- workloads -----------------------------------------------------------------

# $1 scheme (ws or wss), $2 first port, rest: the servers' labels.
echo_servers() {
    local scheme=$1 port=$2 label pipeline; shift 2
    for label in "$@"; do
        case $label in
            ngx_ws) start_ngx_ws "$port" 1 ;;
            ngx_ws_wss) LISTEN_TLS=1 write_nginx_conf ngx_ws_wss "$port" 1 \
                            "load_module $MODULE;" "" 'location = /echo { ws_listen; ws_echo on; }'
                        start_server "$SERVER_CPUS" "$port" "$NGINX" -p "$WORK/ngx_ws_wss" \
                            -c conf/nginx.conf ;;
            node_ws) start_node_echo "$port" ;;
            nginx_proxy_node) start_nginx_proxy_node "$port" nginx_proxy_node ;;
            ngx_ws_proxy_node) start_nginx_proxy_node "$port" ngx_ws_proxy_node ;;
            nginx_tls_proxy_node) LISTEN_TLS=1 start_nginx_proxy_node "$port" \
                                      nginx_tls_proxy_node ;;
        esac
        for pipeline in $ECHO_PIPELINES; do
            echo "== echo $label ($scheme://): $ECHO_CONNS connections, $SIZE B," \
                 "$pipeline in flight, ${DURATION}s x $RUNS"
            for run in $(seq 1 "$RUNS"); do
                run_wsload "$label" 1 "$run" echo --url "$scheme://127.0.0.1:$port/echo" \
                    --connections "$ECHO_CONNS" --size "$SIZE" --duration "$DURATION" \
                    --pipeline "$pipeline"
            done
        done
        stop_server
        # the NGINX prefix of the label (ngx_ws's is shared with fan-out)
        if [ "$label" = ngx_ws ]; then check_server_log ngx_ws-w1; else check_server_log "$label"; fi
        port=$((port + 1))
    done
}

bench_echo() {
    echo_servers ws "$BASE_PORT" ngx_ws node_ws nginx_proxy_node ngx_ws_proxy_node
}

# Echo over wss://: ngx_ws terminating TLS itself against NGINX terminating
# TLS in front of Node ws. Both pay for the same ciphers, so the ratio shows
# what is left of the WebSocket path's lead once TLS is in the bill.
bench_echo_tls() {
    echo_servers wss "$((BASE_PORT + 5))" ngx_ws_wss nginx_tls_proxy_node
}

bench_fanout() {
    local port=$((BASE_PORT + 10)) label workers case subs rate
    for label in ngx_ws nchan node_ws; do
        for workers in $FANOUT_WORKERS; do
            # Node is one process: it runs the one-worker cases only.
            if [ "$label" = node_ws ] && [ "$workers" != 1 ]; then continue; fi
            case $label in
                ngx_ws) start_ngx_ws "$port" "$workers" ;;
                nchan) start_nchan "$port" "$workers" ;;
                node_ws) start_node_fanout "$port" ;;
            esac
            for case in $FANOUT_CASES; do
                subs=${case%%:*}
                rate=${case##*:}
                echo "== fanout $label ($workers worker(s)): $subs subscribers," \
                     "$rate msg/s, ${DURATION}s x $RUNS"
                for run in $(seq 1 "$RUNS"); do
                    # A fresh channel per run, so no run inherits a backlog.
                    local ch="s${subs}r${rate}n${run}"
                    run_wsload "$label" "$workers" "$run" fanout \
                        --url "ws://127.0.0.1:$port/sub/$ch" \
                        --publish "http://127.0.0.1:$port/pub/$ch" \
                        --connections "$subs" --rate "$rate" --duration "$DURATION" \
                        --sources 8
                done
            done
            stop_server
            [ "$label" = node_ws ] || check_server_log "$label-w$workers"
            port=$((port + 1))
        done
    done
}

# permessage-deflate: "shared" subscribers agree to no server context
# takeover and get one frame compressed once per worker; "own" ones are
# compressed one by one, each in its own context; "off" is the baseline.
# The 1,000 subscribers get DEFLATE_SIZE-byte chat-like JSON messages.
bench_deflate() {
    local port=$((BASE_PORT + 40)) rate mode sub
    start_ngx_ws "$port" 1
    for rate in $DEFLATE_RATES; do
        for mode in off shared own; do
            echo "== fanout ngx_ws, deflate $mode: 1000 subscribers, $DEFLATE_SIZE B," \
                 "$rate msg/s, ${DURATION}s x $RUNS"
            for run in $(seq 1 "$RUNS"); do
                local deflate=(--deflate "$mode") ch="z$mode${rate}n$run"
                sub=zsub
                if [ "$mode" = off ]; then sub=sub; deflate=(); fi
                run_wsload "ngx_ws_deflate_$mode" 1 "$run" fanout \
                    --url "ws://127.0.0.1:$port/$sub/$ch" \
                    --publish "http://127.0.0.1:$port/pub/$ch" --connections 1000 \
                    --size "$DEFLATE_SIZE" --rate "$rate" --duration "$DURATION" \
                    --sources 8 "${deflate[@]}"
            done
        done
    done
    stop_server
    check_server_log ngx_ws-w1
}

# A server's first connection pages in code and tables that any number of
# connections share (file-backed pages: Pss of the binary and libraries).
# Read before any connection, they were charged to the measured ones. So
# every server first takes IDLE_WARM_UP connections, held a second and
# closed, before wsload reads "before"; what they leave freed on the heap
# for the measured connections to reuse is at most their own size over
# IDLE_CONNS (8 against 10,000: about 1 B per connection).
idle_warm_up() {  # $1 URL
    [ "$IDLE_WARM_UP" -gt 0 ] || return 0
    taskset -c "$CLIENT_CPUS" "$BUILD/wsload" idle --url "$1" \
        --connections "$IDLE_WARM_UP" --settle 1 --label warm-up \
        --server-pid "$SERVER_PID" >/dev/null 2>&1 \
        || echo "  (warm-up connections failed; measuring anyway)" >&2
    sleep 1
}

# Every run gets a fresh server, so each starts from the same memory.
# ngx_ws_wss: the same subscribers over TLS (what an idle wss:// costs).
bench_idle() {
    local port=$((BASE_PORT + 20)) label scheme path
    for label in $IDLE_SERVERS; do
        echo "== idle $label: $IDLE_CONNS connections x $RUNS"
        path=/sub/idle
        for run in $(seq 1 "$RUNS"); do
            scheme=ws
            case $label in
                ngx_ws) start_ngx_ws "$port" 1 ;;
                ngx_ws_wss) LISTEN_TLS=1 write_nginx_conf ngx_ws_wss-idle "$port" 1 \
                                "load_module $MODULE;" "ws_zone bench 64m;" '
        location ~ "^/sub/(?<ch>[a-z0-9]+)$" { ws_listen; ws_subscribe bench:$ch; }'
                            start_server "$SERVER_CPUS" "$port" "$NGINX" \
                                -p "$WORK/ngx_ws_wss-idle" -c conf/nginx.conf
                            scheme=wss ;;
                nchan) start_nchan "$port" 1 ;;
                node_ws) start_node_fanout "$port" ;;
                *_proxy_node) start_nginx_proxy_node "$port" "$label"; path=/echo ;;
            esac
            idle_warm_up "$scheme://127.0.0.1:$port$path"
            run_wsload "$label" 1 "$run" idle --url "$scheme://127.0.0.1:$port$path" \
                --connections "$IDLE_CONNS" --sources 8
            stop_server
        done
        port=$((port + 1))
    done
}

bench_connect() {
    local port=$((BASE_PORT + 30)) label url
    for label in ngx_ws nginx_204; do
        case $label in
            ngx_ws) start_ngx_ws "$port" 1; url="ws://127.0.0.1:$port/echo" ;;
            nginx_204) start_nginx_204 "$port"; url="http://127.0.0.1:$port/204" ;;
        esac
        echo "== connect $label: $CONNECT_CONCURRENCY at once, ${DURATION}s x $RUNS"
        for run in $(seq 1 "$RUNS"); do
            run_wsload "$label" 1 "$run" connect --url "$url" \
                --concurrency "$CONNECT_CONCURRENCY" --duration "$DURATION" --sources 16
        done
        stop_server
        port=$((port + 1))
    done
}

# The issue's side-by-side matrix against uWebSockets (UWS_SERVER), one
# worker or thread each on the server CPU: echo with one message in flight
# per connection at PEER_ECHO_CASES (connections:payload bytes), and
# fan-out as fast as the publisher's answers allow with PEER_FANOUT_CASES
# (subscribers:publishes in flight:payload bytes), plain and with
# permessage-deflate (PEER_DEFLATE_CASES, shared compression). Compared
# per server-CPU-second (bench/peers_table.py, results/peers.md): neither
# server is always saturated, and the client shares the machine.
start_peer() {  # $1 label, $2 port
    local module=$MODULE
    case $1 in
        ngx_ws|ngx_ws_baseline)
            [ "$1" = ngx_ws_baseline ] && module=$BASELINE_MODULE
            write_nginx_conf "$1_peer" "$2" 1 "load_module $module;" \
                "ws_zone bench 256m; ws_max_message_size 64m; ws_send_buffer 64m;
                 client_max_body_size 64m;" '
                location = /echo { ws_listen; ws_echo on; }
                location ~ "^/sub/(?<ch>[a-z0-9]+)$" { ws_listen; ws_subscribe bench:$ch; }
                location ~ "^/zsub/(?<ch>[a-z0-9]+)$" {
                    ws_listen; ws_subscribe bench:$ch; ws_deflate on;
                }
                location ~ "^/pub/(?<ch>[a-z0-9]+)$" { ws_publisher bench:$ch; }'
            start_server "$SERVER_CPUS" "$2" "$NGINX" -p "$WORK/$1_peer" -c conf/nginx.conf ;;
        uws) start_server "$SERVER_CPUS" "$2" "$UWS_SERVER" "$2" ;;
    esac
}

# Both servers run at once, each pinned to the server CPU, and the runs of
# a case alternate between them (ngx_ws, uws, ngx_ws, ...): the machine's
# speed drifts over the minutes of a run (the host's other tenants), and a
# server measured in one block after the other took all of that drift as
# its own (the same uws row 30-60% apart between two quiet runs). An idle
# server costs the other nothing.
bench_peers() {
    local base=$((BASE_PORT + 50)) labels="ngx_ws" label case conns size run n=0
    local -A peer_pid peer_port
    if [ -n "$UWS_SERVER" ]; then
        labels="ngx_ws uws"
    else
        echo "== peers: UWS_SERVER not set, ngx_ws alone (see bench/uws/build.sh)"
    fi
    # another build of the module, measured in the same alternation
    [ -n "$BASELINE_MODULE" ] && labels="$labels ngx_ws_baseline"
    for label in $labels; do
        peer_port[$label]=$((base + n)); n=$((n + 1))
        start_peer "$label" "${peer_port[$label]}"
        peer_pid[$label]=$SERVER_PID
    done
    for case in $PEER_ECHO_CASES; do
        conns=${case%%:*}; size=${case##*:}
        echo "== peers echo ($labels, alternating): $conns connections, $size B, ${DURATION}s x $RUNS"
        for run in $(seq 1 "$RUNS"); do
            for label in $labels; do
                SERVER_PID=${peer_pid[$label]} OUT_JSONL=$PEERS_JSONL \
                    run_wsload "$label" 1 "$run" echo \
                    --url "ws://127.0.0.1:${peer_port[$label]}/echo" --connections "$conns" \
                    --size "$size" --duration "$DURATION" --pipeline 1
            done
        done
    done
    for case in $PEER_FANOUT_CASES; do
        peer_fanout "$labels" "$case" sub
    done
    for case in $PEER_DEFLATE_CASES; do
        peer_fanout "$labels" "$case" zsub --deflate shared
    done
    for case in $PEER_PACED_CASES; do
        peer_paced "$labels" "$case"
    done
    for conc in $PEER_CONNECT_CASES; do
        echo "== peers connect ($labels, alternating): $conc at once, ${DURATION}s x $RUNS"
        for run in $(seq 1 "$RUNS"); do
            for label in $labels; do
                SERVER_PID=${peer_pid[$label]} EXTRA_JSON="\"concurrency\":$conc," \
                    OUT_JSONL=$PEERS_JSONL run_wsload "$label" 1 "$run" connect \
                    --url "ws://127.0.0.1:${peer_port[$label]}/echo" \
                    --concurrency "$conc" --duration "$DURATION" --sources 16
            done
        done
    done
    for label in $labels; do
        SERVER_PID=${peer_pid[$label]}
        stop_server
    done
    check_server_log ngx_ws_peer
}

# $1 labels, $2 subscribers:publishes per second:bytes; uses bench_peers'
# peer_pid and peer_port. Up to 64 publishes in flight: the pace, not the
# publisher's answers, sets the rate.
peer_paced() {
    local labels=$1 case=$2 label subs rate size run ch
    subs=${case%%:*}; size=${case##*:}; rate=${case#*:}; rate=${rate%%:*}
    echo "== peers fanout ($labels, alternating), paced: $subs subscribers," \
         "$rate publishes/s, $size B ${DURATION}s x $RUNS"
    for run in $(seq 1 "$RUNS"); do
        for label in $labels; do
            ch="ppaced${subs}r${rate}b${size}n$run"
            SERVER_PID=${peer_pid[$label]} EXTRA_JSON="\"paced\":$rate," \
                OUT_JSONL=$PEERS_JSONL run_wsload "$label" 1 "$run" fanout \
                --url "ws://127.0.0.1:${peer_port[$label]}/sub/$ch" \
                --publish "http://127.0.0.1:${peer_port[$label]}/pub/$ch" \
                --connections "$subs" --rate "$rate" --max-in-flight 64 \
                --size "$size" --duration "$DURATION" --sources 8
        done
    done
}

# $1 labels, $2 subscribers:in flight:bytes, $3 route, rest: flags; uses
# bench_peers' peer_pid and peer_port
peer_fanout() {
    local labels=$1 case=$2 route=$3 label subs inflight size run ch; shift 3
    subs=${case%%:*}; size=${case##*:}; inflight=${case#*:}; inflight=${inflight%%:*}
    echo "== peers fanout ($labels, alternating) /$route: $subs subscribers," \
         "$inflight in flight, $size B ${*:-} ${DURATION}s x $RUNS"
    local extra="\"max_in_flight\":$inflight,"
    [ "$route" = zsub ] && extra="$extra\"deflate\":\"shared\","
    for run in $(seq 1 "$RUNS"); do
        for label in $labels; do
            ch="p$route${subs}i${inflight}b${size}n$run"
            SERVER_PID=${peer_pid[$label]} EXTRA_JSON=$extra OUT_JSONL=$PEERS_JSONL \
                run_wsload "$label" 1 "$run" fanout \
                --url "ws://127.0.0.1:${peer_port[$label]}/$route/$ch" \
                --publish "http://127.0.0.1:${peer_port[$label]}/pub/$ch" \
                --connections "$subs" --rate 1000000 --max-in-flight "$inflight" \
                --size "$size" --duration "$DURATION" --sources 8 "$@"
        done
    done
}

# Message forwarding through an HTTP backend (docs/backends.md): each of
# BACKEND_CONNS clients (a list: 1,000 saturates the server, 10 shows the
# latency of one call on a server that is not busy) keeps one message
# (SIZE bytes, binary) in flight;
# the server POSTs it to a keep-alive upstream and sends the answer back to
# the sender. ngx_ws: ws_backend_message, in a location that neither echoes
# nor publishes (so the answer goes to the sender), calling a location that
# proxy_passes; ngx_ws_direct: the same hook naming the upstream group
# (http://backend/...), the module's own pipelined client. nchan: a pubsub
# websocket on a channel of its own per connection ($connection) with
# nchan_publisher_upstream_request, so the answer is published back to it.
# Node ws: node_backend_server.js, an http.request per message with a
# keep-alive http.Agent. The upstreams (BACKEND_UPSTREAMS): "return200", a
# plain NGINX answering `return 200` with a SIZE-byte body (what the
# servers themselves cost), and "demo", conf_examples/demo_backend.py
# answering 304 (keep). The upstream runs on wsload's CPU, so the server's
# CPU figure is the server's alone.
BACKEND_CONNS=${BACKEND_CONNS:-"1000 10"}
BACKEND_UPSTREAMS=${BACKEND_UPSTREAMS:-"return200 demo"}
BACKEND_SERVERS=${BACKEND_SERVERS:-"ngx_ws ngx_ws_direct nchan node_ws"}
BACKEND_KEEPALIVE=${BACKEND_KEEPALIVE:-1024}
BACKEND_JSONL="$RESULTS/backend.jsonl"

start_backend_upstream() {  # $1 kind, $2 port; sets UPSTREAM_PID, UPSTREAM_PATH
    local kind=$1 port=$2 body
    case $kind in
        return200)
            body=$(head -c "$SIZE" /dev/zero | tr '\0' Z)
            write_nginx_conf upstream_return200 "$port" 1 "" "" "
        location / { return 200 \"$body\"; }"
            setsid taskset -c "$CLIENT_CPUS" "$NGINX" -p "$WORK/upstream_return200" \
                -c conf/nginx.conf &
            UPSTREAM_PATH=/message ;;
        demo)
            setsid taskset -c "$CLIENT_CPUS" /usr/bin/python3 \
                "$REPO/conf_examples/demo_backend.py" 127.0.0.1 "$port" >"$WORK/demo_backend.log" &
            UPSTREAM_PATH=/chat/message ;;
    esac
    UPSTREAM_PID=$!
    GROUPS_RUNNING+=("$UPSTREAM_PID")
    wait_port "$port"
}

start_backend_server() {  # $1 label, $2 port, $3 upstream port
    local label=$1 port=$2 uport=$3 upstream
    upstream="upstream backend {
        server 127.0.0.1:$uport;
        keepalive $BACKEND_KEEPALIVE;
        keepalive_requests 100000000;
    }"
    local hook_location="
        location = /hook {
            internal;
            proxy_pass http://backend$UPSTREAM_PATH;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }"
    case $label in
        ngx_ws)
            write_nginx_conf ngx_ws_backend "$port" 1 "load_module $MODULE;" "$upstream" "
        location = /echo { ws_listen; ws_backend_message /hook; }
        $hook_location"
            start_server "$SERVER_CPUS" "$port" "$NGINX" -p "$WORK/ngx_ws_backend" \
                -c conf/nginx.conf ;;
        ngx_ws_direct)
            write_nginx_conf ngx_ws_direct_backend "$port" 1 "load_module $MODULE;" "$upstream" "
        location = /echo { ws_listen; ws_backend_message http://backend$UPSTREAM_PATH; }"
            start_server "$SERVER_CPUS" "$port" "$NGINX" -p "$WORK/ngx_ws_direct_backend" \
                -c conf/nginx.conf ;;
        nchan)
            write_nginx_conf nchan_backend "$port" 1 "load_module $NCHAN_MODULE;" "$upstream" "
        location = /echo {
            nchan_pubsub websocket;
            nchan_channel_id \$connection;
            nchan_publisher_upstream_request /hook;
        }
        $hook_location"
            start_server "$SERVER_CPUS" "$port" "$NGINX" -p "$WORK/nchan_backend" \
                -c conf/nginx.conf ;;
        node_ws)
            start_server "$SERVER_CPUS" "$port" env NODE_PATH=/usr/share/nodejs \
                node "$BENCH_DIR/node_backend_server.js" "$port" "127.0.0.1:$uport" \
                "$UPSTREAM_PATH" "$BACKEND_KEEPALIVE" ;;
    esac
}

bench_backend() {
    local uport=$((BASE_PORT + 60)) port upstream label run conns
    : >"$BACKEND_JSONL"
    for upstream in $BACKEND_UPSTREAMS; do
        start_backend_upstream "$upstream" "$uport"
        port=$((BASE_PORT + 62))
        for label in $BACKEND_SERVERS; do
            start_backend_server "$label" "$port" "$uport"
            for conns in $BACKEND_CONNS; do
                echo "== backend $label -> $upstream: $conns connections, $SIZE B," \
                     "1 in flight, ${DURATION}s x $RUNS"
                for run in $(seq 1 "$RUNS"); do
                    EXTRA_JSON="\"upstream\":\"$upstream\"," OUT_JSONL=$BACKEND_JSONL \
                        run_wsload "$label" 1 "$run" echo --url "ws://127.0.0.1:$port/echo" \
                        --connections "$conns" --size "$SIZE" --duration "$DURATION" \
                        --pipeline 1
                done
            done
            stop_server
            case $label in
                ngx_ws) check_server_log ngx_ws_backend ;;
                ngx_ws_direct) check_server_log ngx_ws_direct_backend ;;
                nchan) check_server_log nchan_backend ;;
            esac
            port=$((port + 1))
        done
        stop_group "$UPSTREAM_PID"
        wait "$UPSTREAM_PID" 2>/dev/null || true
    done
    python3 "$BENCH_DIR/backend_table.py" "$BACKEND_JSONL" \
        --command "RUNS=$RUNS DURATION=$DURATION BACKEND_CONNS=\"$BACKEND_CONNS\" SIZE=$SIZE WORKLOADS=backend bench/run.sh" \
        --when "$(date -u '+%Y-%m-%d %H:%M UTC'), at $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'); server on CPU $SERVER_CPUS, wsload and the upstream on CPU $CLIENT_CPUS" \
        >"$RESULTS/backend.md"
}

# The frame-aware proxy (ws_proxy_pass) against NGINX's proxy_pass tunnel,
# both in front of the same Node ws echo, and Node alone, in one run. NGINX
# and Node run in process groups of their own, both on the server CPU:
# wsload samples NGINX's CPU (--server-pid, the master and its worker) and
# Node's (--upstream-pid) over the same window, so each side's cost per
# round trip shows apart. The servers take turns within each run (run 1 of
# every server, then run 2...), so a load that comes and goes on a shared
# machine falls on all of them alike. Cases: echo (PROXY_CONNS connections,
# SIZE bytes, PROXY_PIPELINES in flight); deflate (the client offers
# permessage-deflate, PROXY_DEFLATE_SIZE-byte messages, one in flight):
# ngx_ws compresses towards the client while Node runs without compression,
# against Node compressing itself (alone and behind the tunnel); idle
# (PROXY_IDLE_CONNS open connections, a fresh server per run: NGINX's memory
# per proxied connection, Node's not counted). Results: results/proxy.md.
PROXY_CONNS=${PROXY_CONNS:-$ECHO_CONNS}
PROXY_PIPELINES=${PROXY_PIPELINES:-$ECHO_PIPELINES}
PROXY_DEFLATE_SIZE=${PROXY_DEFLATE_SIZE:-4096}
PROXY_IDLE_CONNS=${PROXY_IDLE_CONNS:-5000}
PROXY_SERVERS="ngx_ws_proxy nginx_tunnel node_direct"
PROXY_JSONL="$RESULTS/proxy.jsonl"

# $1 label, $2 port, $3 "deflate" for the deflate case. Sets SERVER_PID
# (what wsload measures as the server), APP_PID (Node behind a proxy, or
# empty), PROXY_URL.
start_proxy_case() {
    local label=$1 port=$2 mode=$3 node_port=$(($2 + 1)) node_mode=plain deflate=""
    # Node compresses itself unless ngx_ws does it for it
    if [ "$mode" = deflate ] && [ "$label" != ngx_ws_proxy ]; then node_mode=deflate; fi
    [ "$mode" = deflate ] && deflate="ws_deflate on;"
    start_server "$SERVER_CPUS" "$node_port" env NODE_PATH=/usr/share/nodejs \
        node "$BENCH_DIR/node_echo_server.js" "$node_port" "$node_mode" >/dev/null
    APP_PID=$SERVER_PID
    PROXY_URL="ws://127.0.0.1:$port/echo"
    case $label in
        node_direct) APP_PID=""; PROXY_URL="ws://127.0.0.1:$node_port/echo"; return 0 ;;
        ngx_ws_proxy)
            write_nginx_conf "$label-$mode" "$port" 1 "load_module $MODULE;" "" \
                "$(echo_proxy_location ws_proxy_pass "$node_port" "$deflate")" ;;
        nginx_tunnel)
            write_nginx_conf "$label-$mode" "$port" 1 "" "" \
                "$(echo_proxy_location proxy_pass "$node_port")" ;;
    esac
    start_server "$SERVER_CPUS" "$port" "$NGINX" -p "$WORK/$label-$mode" -c conf/nginx.conf
}

stop_proxy_case() {
    stop_server
    if [ -n "$APP_PID" ]; then
        stop_group "$APP_PID"
        wait "$APP_PID" 2>/dev/null || true
    else
        :  # node_direct: SERVER_PID was Node
    fi
    APP_PID=""
}

bench_proxy() {
    local port=$((BASE_PORT + 70)) run label pipeline
    : >"$PROXY_JSONL"
    for run in $(seq 1 "$RUNS"); do
        for label in $PROXY_SERVERS; do
            start_proxy_case "$label" "$port" plain
            for pipeline in $PROXY_PIPELINES; do
                echo "== proxy echo $label: $PROXY_CONNS connections, $SIZE B," \
                     "$pipeline in flight, ${DURATION}s, run $run of $RUNS"
                EXTRA_JSON='"case":"echo",' OUT_JSONL=$PROXY_JSONL run_wsload "$label" 1 "$run" \
                    echo --url "$PROXY_URL" --connections "$PROXY_CONNS" --size "$SIZE" \
                    --duration "$DURATION" --pipeline "$pipeline"
            done
            stop_proxy_case
            [ "$label" = node_direct ] || check_server_log "$label-plain"
        done
        for label in $PROXY_SERVERS; do
            start_proxy_case "$label" "$port" deflate
            echo "== proxy deflate $label: $PROXY_CONNS connections, $PROXY_DEFLATE_SIZE B," \
                 "1 in flight, client offers permessage-deflate, ${DURATION}s, run $run of $RUNS"
            EXTRA_JSON='"case":"deflate",' OUT_JSONL=$PROXY_JSONL run_wsload "$label" 1 "$run" \
                echo --url "$PROXY_URL" --connections "$PROXY_CONNS" \
                --size "$PROXY_DEFLATE_SIZE" --duration "$DURATION" --pipeline 1 --deflate own
            stop_proxy_case
            [ "$label" = node_direct ] || check_server_log "$label-deflate"
        done
        for label in ngx_ws_proxy nginx_tunnel; do
            start_proxy_case "$label" "$port" plain
            echo "== proxy idle $label: $PROXY_IDLE_CONNS connections, run $run of $RUNS"
            # NGINX's memory alone: Node holds one connection per client either way;
            # both NGINX set up once before "before" is read, as in bench_idle
            idle_warm_up "$PROXY_URL"
            local app=$APP_PID
            APP_PID="" EXTRA_JSON='"case":"idle",' OUT_JSONL=$PROXY_JSONL \
                run_wsload "$label" 1 "$run" idle --url "$PROXY_URL" \
                --connections "$PROXY_IDLE_CONNS" --sources 8
            APP_PID=$app
            stop_proxy_case
        done
    done
    python3 "$BENCH_DIR/proxy_table.py" "$PROXY_JSONL" \
        --command "RUNS=$RUNS DURATION=$DURATION PROXY_CONNS=$PROXY_CONNS SIZE=$SIZE PROXY_PIPELINES=\"$PROXY_PIPELINES\" PROXY_DEFLATE_SIZE=$PROXY_DEFLATE_SIZE PROXY_IDLE_CONNS=$PROXY_IDLE_CONNS WORKLOADS=proxy bench/run.sh" \
        --when "$(date -u '+%Y-%m-%d %H:%M UTC'), at $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'); NGINX and Node on CPU $SERVER_CPUS, wsload on CPU $CLIENT_CPUS; load average before: $PROXY_LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)" \
        >"$RESULTS/proxy.md"
}

# --- main ----------------------------------------------------------------------

[ -f "$MODULE" ] || { echo "missing $MODULE: run 'make module' first" >&2; exit 1; }
if [ ! -f "$NCHAN_MODULE" ]; then
    echo "== installing Debian's libnginx-mod-nchan (the fan-out peer)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnginx-mod-nchan >/dev/null
fi
[ -d /usr/share/nodejs/ws ] || { echo "node-ws missing: make deps" >&2; exit 1; }

echo "== building wsload"
cmake -S "$BENCH_DIR" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null

mkdir -p "$RESULTS"
: >"$JSONL"
: >"$PEERS_JSONL"
PROXY_LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for workload in $WORKLOADS; do "bench_$workload"; done

# WORKLOADS=peers alone leaves latest.md as it was
if [ -s "$JSONL" ]; then
    python3 "$BENCH_DIR/results_table.py" "$JSONL" \
        --command "RUNS=$RUNS DURATION=$DURATION WORKLOADS=\"$WORKLOADS\" bench/run.sh" \
        --cpus "server on CPU $SERVER_CPUS, wsload on CPU $CLIENT_CPUS" >"$MD"
fi
if [ -s "$PEERS_JSONL" ]; then
    python3 "$BENCH_DIR/peers_table.py" "$PEERS_JSONL" >"$RESULTS/peers.md"
fi
if [ -s "$SERVER_NOTES" ]; then
    { echo; echo "Server logs:"; echo; cat "$SERVER_NOTES"; } >>"$MD"
fi
if [ "$RUN_FAILURES" != 0 ]; then
    echo "$RUN_FAILURES wsload run(s) failed; see above" >>"$MD"
fi
echo
if [ -f "$MD" ]; then cat "$MD"; fi
case " $WORKLOADS " in *" backend "*) cat "$RESULTS/backend.md" ;; esac
case " $WORKLOADS " in *" proxy "*) cat "$RESULTS/proxy.md" ;; esac
