#!/bin/sh
# Instructions per message forwarded through an HTTP backend, ngx_ws's
# message hook against nchan's nchan_publisher_upstream_request, counted
# by callgrind (noise-free where bench/run.sh's backend workload, on a
# shared machine, is not). The server under test runs as one process
# (master_process off) under callgrind; its hook location proxies, with
# keepalive, to a plain NGINX answering `return 200` with a SIZE-byte
# body (not under callgrind). One client sends COUNT binary messages of
# SIZE bytes, one at a time, and reads each answer (CLIENTS=n: n clients
# share the COUNT, each one message at a time, n calls in flight
# together). The counters are
# zeroed after the handshake and the first message (callgrind_control),
# so connecting and warming up are left out. Prints the instructions per
# message and the functions that take the most of them. HOOK=return
# makes the hook location itself answer (`return 200` with the body, no
# upstream): what is left is the call's own cost, without proxying.
# ngx_ws_direct names the upstream group in the hook
# (`ws_backend_message http://backend/message;`): the module's own
# pipelined client, no location, no subrequest (HOOK does not apply).
#
# TOOL=strace counts system calls instead (strace -c -f over the whole
# run, handshakes included: they are a few per client against COUNT
# messages) and prints the calls per message, by kind.
#
#   [TOOL=strace] [HOOK=return] [CLIENTS=n] sh bench/backend/profile_forward.sh ngx_ws|ngx_ws_direct|nchan [port]
#
# Ports: port (the server) and port+1 (the upstream), 20150 by default.
set -e
SERVER=${1:-ngx_ws}
PORT=${2:-20150}
UPORT=$((PORT + 1))
COUNT=${COUNT:-2000}
CLIENTS=${CLIENTS:-1}
SIZE=${SIZE:-64}
MODULE=${MODULE:-$PWD/build/ngx_http_ws_module.so}
DIR=$(mktemp -d /tmp/ngx_ws_forward.XXXXXX)
mkdir -p "$DIR/server/logs" "$DIR/server/conf" "$DIR/upstream/logs" "$DIR/upstream/conf"
BODY=$(head -c "$SIZE" /dev/zero | tr '\0' Z)

temp_paths() {
    for t in client_body proxy fastcgi uwsgi scgi; do echo "    ${t}_temp_path $1/tmp_$t;"; done
}

cat >"$DIR/upstream/conf/nginx.conf" <<CONF
daemon on;
worker_processes 1;
error_log logs/error.log error;
pid logs/nginx.pid;
events { worker_connections $((CLIENTS * 2 + 64)); }
http {
    access_log off;
$(temp_paths "$DIR/upstream")
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$UPORT;
        location / { return 200 "$BODY"; }
    }
}
CONF

case $SERVER in
    ngx_ws)
        LOAD="load_module $MODULE;"
        ENDPOINT="ws_listen; ws_backend_message /hook;" ;;
    ngx_ws_direct)
        LOAD="load_module $MODULE;"
        ENDPOINT="ws_listen; ws_backend_message http://backend/message;" ;;
    nchan)
        LOAD="load_module /usr/lib/nginx/modules/ngx_nchan_module.so;"
        ENDPOINT="nchan_pubsub websocket; nchan_channel_id \$connection;
            nchan_publisher_upstream_request /hook;" ;;
    *) echo "usage: $0 ngx_ws|ngx_ws_direct|nchan [port]" >&2; exit 2 ;;
esac

case ${HOOK:-proxy} in
    proxy) HOOK_LOCATION="proxy_pass http://backend/message;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";" ;;
    return) HOOK_LOCATION="return 200 \"$BODY\";" ;;
    *) echo "HOOK is proxy or return" >&2; exit 2 ;;
esac

cat >"$DIR/server/conf/nginx.conf" <<CONF
$LOAD
daemon off;
master_process off;
error_log logs/error.log error;
pid logs/nginx.pid;
events { worker_connections $((CLIENTS * 2 + 64)); }
http {
    access_log off;
$(temp_paths "$DIR/server")
    upstream backend {
        server 127.0.0.1:$UPORT;
        keepalive 16;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$PORT;
        location = /echo {
            $ENDPOINT
        }
        location = /hook {
            internal;
            $HOOK_LOCATION
        }
    }
}
CONF

/usr/sbin/nginx -p "$DIR/upstream/" -c conf/nginx.conf
if [ "${TOOL:-callgrind}" = strace ]; then
    strace -c -f -o "$DIR/strace.out" \
        /usr/sbin/nginx -p "$DIR/server/" -c conf/nginx.conf 2>"$DIR/strace.log" &
else
    valgrind --tool=callgrind --callgrind-out-file="$DIR/callgrind.out" \
        /usr/sbin/nginx -p "$DIR/server/" -c conf/nginx.conf 2>"$DIR/valgrind.log" &
fi
VG=$!
/usr/bin/python3 - "$PORT" "$COUNT" "$SIZE" "$VG" "$CLIENTS" <<'PY'
import asyncio, subprocess, sys
import websockets
port, count, size, pid, clients = (int(a) for a in sys.argv[1:6])
async def connect():
    for _ in range(150):
        try:
            # no permessage-deflate: wsload offers none either
            return await websockets.connect(f"ws://127.0.0.1:{port}/echo",
                                            max_size=None, compression=None)
        except OSError:
            await asyncio.sleep(0.2)
async def forward(ws, n, payload):
    for _ in range(n):
        await ws.send(payload)
        assert len(await ws.recv()) == size
async def main():
    payload = b"x" * size
    socks = [await connect() for _ in range(clients)]
    await asyncio.gather(*(forward(ws, 1, payload) for ws in socks))
    profiled = subprocess.run(["callgrind_control", "--zero", str(pid)],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0
    await asyncio.gather(*(forward(ws, count // clients, payload)
                           for ws in socks))
    if profiled:
        subprocess.run(["callgrind_control", "--dump=measured", str(pid)],
                       check=True, stdout=subprocess.DEVNULL)
    for ws in socks:
        await ws.close()
asyncio.run(main())
PY
if [ "${TOOL:-callgrind}" = strace ]; then
    # strace passes no signal on: NGINX itself is told
    kill -QUIT "$(cat "$DIR/server/logs/nginx.pid")"
else
    kill -QUIT $VG
fi
wait $VG || true
kill -QUIT "$(cat "$DIR/upstream/logs/nginx.pid")"
if [ "${TOOL:-callgrind}" = strace ]; then
    awk -v n="$((COUNT / CLIENTS * CLIENTS + CLIENTS))" -v server="$SERVER" '
        # % time, seconds, usecs/call, calls, [errors], syscall
        $NF == "total" { printf "%s: %d messages, %.2f system calls each\n", server, n, $4 / n; next }
        /^ *[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+/ { calls[$NF] = $4 }
        END { for (c in calls) if (calls[c] / n >= 0.01) printf "  %6.2f  %s\n", calls[c] / n, c }
    ' "$DIR/strace.out"
    rm -rf "$DIR"
    exit 0
fi
OUT=$(ls "$DIR"/callgrind.out* | while read -r f; do
          grep -q 'measured' "$f" && echo "$f"; done | head -1)
# Self costs; the rows of main and what calls it hold everything (they
# are inclusive) and are left out. Split by the object a function is in:
# NGINX, the module, libc.
callgrind_annotate --threshold=100 "$OUT" 2>/dev/null | awk -v n="$((COUNT / CLIENTS * CLIENTS))" -v server="$SERVER" '
    /PROGRAM TOTALS/ { v = $1; gsub(",", "", v); total = v; next }
    total && /^-+$/ { rules++; next }
    rules != 2 || !/^ *[0-9,]+ \(/ { next }
    /:main \[|\(below main\)|libc_start_main|ld-linux/ { next }
    {
        v = $1; gsub(",", "", v)
        match($0, /\[[^]]*\]$/); object = substr($0, RSTART + 1, RLENGTH - 2)
        sub(/.*\//, "", object)
        if (object == "") object = "(inlined, no object named)"
        by_object[object] += v
        if (shown++ < 12) { name = $0; sub(/^ *[0-9,]+ *\([^)]*\) */, "", name); top[shown] = sprintf("  %7.0f  %s", v / n, name) }
    }
    END {
        printf "%s: %d messages, %.0f instructions each\n", server, n, total / n
        for (o in by_object) if (by_object[o] / n >= 1) printf "  %7.0f  in %s\n", by_object[o] / n, o
        print "the functions that take the most:"
        for (i = 1; i <= 12 && i in top; i++) print top[i]
    }'
[ -n "$KEEP" ] && cp "$OUT" "$KEEP"
rm -rf "$DIR"
