#!/bin/sh
# Instruction-count profile of the echo path: one NGINX process (no
# master) under callgrind, MESSAGES messages of SIZE bytes (64) echoed
# through it over CONNS connections (4) in batches of BATCH (50) by
# profile_echo.py. The counters are zeroed once every connection is open
# and dumped once every echo is back, so start-up, handshakes and closes
# are not counted. Prints total instructions, instructions per message and
# the top functions. Usage: bench/profile_echo.sh [outdir]
# Needs build/ngx_http_ws_module.so (make build) and valgrind.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-/tmp/ngx-ws-profile.$$}
port=${PORT:-18990}
messages=${MESSAGES:-100000}
nginx=${NGX_BIN:-/usr/sbin/nginx}

mkdir -p "$out/logs"
rm -f "$out"/callgrind.out*
cat >"$out/nginx.conf" <<CONF
load_module ${MODULE:-$root/build/ngx_http_ws_module.so};
master_process off;
daemon off;
worker_processes 1;
error_log $out/logs/error.log warn;
pid $out/nginx.pid;
events { worker_connections 2048; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$port;
        location / { ws_listen; ws_echo on; }
    }
}
CONF

valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
    "$nginx" -p "$out/" -c "$out/nginx.conf" 2>"$out/valgrind.log" &
vg=$!
trap 'kill $vg 2>/dev/null || true' EXIT

# wait until NGINX answers (valgrind makes startup slow)
i=0
until /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 600 ] || { kill $vg; exit 1; }; sleep 0.1
done

MESSAGES=$messages ZERO_CMD="callgrind_control -z $vg" \
    DUMP_CMD="callgrind_control -d $vg" \
    /usr/bin/python3 "$root/bench/profile_echo.py" "ws://127.0.0.1:$port/"
kill -QUIT $vg    # graceful: NGINX exits, callgrind writes its file
wait $vg || true

# the dump taken after the last echo (the file written at exit has the closes)
dump=$(ls "$out"/callgrind.out.* | head -1)
total=$(callgrind_annotate "$dump" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
echo "total instructions: $total"
echo "per message: $((total / messages))"
# a dump's table lists main and its callers at 100%: leave them out
callgrind_annotate --inclusive=no --threshold=100 "$dump" 2>/dev/null \
    | sed -n '/file:function/,$p' | grep -v '(100.0%)' | head -30
