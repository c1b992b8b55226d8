#!/bin/sh
# What forwarding a message to the message hook costs in copies: NGINX
# (one process, master_process off) under callgrind, a client sending
# COUNT text messages of SIZE bytes to a raw location whose hook is a
# `return 200 "k"` location, reading every reply. Prints the worker's
# instructions in total and in memcpy, per message.
#
#   sh bench/backend/copies.sh [module.so] [port]
#
# Run it with two builds of the module to compare them.
set -e
MODULE=${1:-$PWD/build/ngx_http_ws_module.so}
PORT=${2:-23010}
COUNT=${COUNT:-2000}
SIZE=${SIZE:-16384}
DIR=$(mktemp -d /tmp/ngx_ws_copies.XXXXXX)
mkdir -p "$DIR/logs" "$DIR/conf"
cat >"$DIR/conf/nginx.conf" <<CONF
load_module $MODULE;
daemon off;
master_process off;
error_log logs/error.log error;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $DIR/tmp_body;
    proxy_temp_path $DIR/tmp_proxy;
    fastcgi_temp_path $DIR/tmp_fcgi;
    uwsgi_temp_path $DIR/tmp_uwsgi;
    scgi_temp_path $DIR/tmp_scgi;
    server {
        listen 127.0.0.1:$PORT;
        location /m {
            ws_listen;
            ws_max_message_size 64k;
            ws_backend_message /internal/k;
        }
        location = /internal/k { internal; return 200 "k"; }
    }
}
CONF
valgrind --tool=callgrind --callgrind-out-file="$DIR/callgrind.out" \
    /usr/sbin/nginx -p "$DIR/" -c conf/nginx.conf 2>"$DIR/valgrind.log" &
VG=$!
/usr/bin/python3 - "$PORT" "$COUNT" "$SIZE" <<'PY'
import asyncio, sys, time
import websockets
port, count, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
async def main():
    for _ in range(100):
        try:
            ws = await websockets.connect(f"ws://127.0.0.1:{port}/m",
                                          max_size=None)
            break
        except OSError:
            await asyncio.sleep(0.2)
    payload = "x" * size
    for i in range(count):
        await ws.send(payload)
        assert await ws.recv() == "k"
    await ws.close()
asyncio.run(main())
PY
kill -QUIT $VG
wait $VG || true
callgrind_annotate "$DIR/callgrind.out" 2>/dev/null \
    | awk -v n="$COUNT" '
        /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
        /memcpy/ && !seen { gsub(",", "", $1); memcpy = $1; seen = 1 }
        END { printf "messages %d: %.0f instructions each, %.0f of them in memcpy\n",
              n, total / n, memcpy / n }'
[ -n "$KEEP" ] && cp "$DIR/callgrind.out" "$KEEP"
rm -rf "$DIR"
