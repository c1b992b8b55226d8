#!/bin/sh
# Instruction-count profile of the fan-out path: one NGINX worker (with
# its master: channels are delivered through the zone's per-worker
# queues, which a single process without master does not have) under
# callgrind, MESSAGES (200) messages of SIZE bytes (20)
# POSTed with INFLIGHT (8) pipelined on one keep-alive connection and
# delivered to SUBS (1000) subscribers, driven by profile_fanout.py. The
# counters are zeroed once every subscriber is in and dumped once every
# delivery is read, so start-up, handshakes and closes are not counted.
# Prints total instructions, instructions per delivery and the top
# functions. Usage: bench/profile_fanout.sh [outdir]
# Needs build/ngx_http_ws_module.so (make build) and valgrind.
set -eu

. "$(dirname "$0")/profile_lib.sh"
profile_setup "$@"
port=${PORT:-18991}
messages=${MESSAGES:-200}
subs=${SUBS:-1000}

cat >"$out/nginx.conf" <<CONF
$(profile_conf_head)
master_process on;
# callgrind_control talks to the worker through files: same user
user root;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    ws_zone bench 64m;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location ~ "^/sub/(?<ch>[a-z0-9]+)$" { ws_listen; ws_subscribe bench:\$ch; }
        location ~ "^/pub/(?<ch>[a-z0-9]+)$" { ws_publisher bench:\$ch; }
    }
}
CONF

valgrind --tool=callgrind --trace-children=yes \
    --callgrind-out-file="$out/callgrind.out.%p" \
    "$nginx" -p "$out/" -c "$out/nginx.conf" 2>"$out/valgrind.log" &
vg=$!
trap 'kill $vg 2>/dev/null || true' EXIT

profile_wait_listening "$port" "$vg"

# the port opens in the master, before its worker is forked
i=0
until worker=$(pgrep -P $vg | head -1) && [ -n "$worker" ]; do
    i=$((i + 1)); [ $i -lt 600 ] || { echo "no worker"; exit 1; }; sleep 0.1
done
sleep 2
ulimit -n 8192 2>/dev/null || true
MESSAGES=$messages SUBS=$subs ZERO_CMD="callgrind_control -z $worker" \
    DUMP_CMD="callgrind_control -d $worker" \
    /usr/bin/python3 "$root/bench/profile_fanout.py" "127.0.0.1:$port"
kill -QUIT $vg    # graceful: NGINX exits, callgrind writes its files
wait $vg || true

# the worker's dump taken after the last delivery (the file written at
# exit has the closes)
dump=$(ls "$out"/callgrind.out.$worker.* | head -1)
total=$(profile_total "$dump")
echo "total instructions: $total"
echo "per delivery: $((total / (messages * subs)))"
echo "per message: $((total / messages))"
profile_top "$dump"
