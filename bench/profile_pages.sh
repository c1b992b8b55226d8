#!/bin/sh
# Pages and cache lines touched between system calls, per echoed message:
# one NGINX process (no master), or the uWebSockets bench server (SERVER=uws,
# UWS_SERVER the binary), under valgrind's lackey, which writes every
# instruction, every data access and every system call in one stream;
# page_touches.cpp counts the distinct pages and lines of each stretch
# between two system calls. profile_echo.py sends MESSAGES (2000) messages
# of SIZE bytes (20) over CONNS connections (200), one in flight on each;
# the middle half of the messages is counted (start-up, handshakes and
# closes left out). Slow: lackey runs about 200 times slower than the CPU.
# Usage: bench/profile_pages.sh [outdir]
# Needs build/ngx_http_ws_module.so (make build), valgrind and a C++20
# compiler.
set -eu

. "$(dirname "$0")/profile_lib.sh"
profile_setup "$@"
port=${PORT:-18991}
conns=${CONNS:-200}
messages=${MESSAGES:-2000}
server=${SERVER:-ngx_ws}

c++ -O2 -std=c++20 -o "$out/page_touches" "$root/bench/page_touches.cpp"

rm -f "$out/trace"
mkfifo "$out/trace"
# the sendto calls of the messages counted; a server that answers the
# upgrade with send() makes CONNS more, before them
lo=$((conns + messages / 4))
hi=$((conns + messages * 3 / 4))
"$out/page_touches" $lo $hi "$out/maps" <"$out/trace" >"$out/pages.txt" &
counter=$!

lackey="valgrind --tool=lackey --trace-mem=yes --trace-syscalls=yes --log-file=$out/trace"
if [ "$server" = uws ]; then
    $lackey "$UWS_SERVER" "$port" &
    url="ws://127.0.0.1:$port/echo"
else
    profile_echo_conf
    $lackey "$nginx" -p "$out/" -c "$out/nginx.conf" &
    url="ws://127.0.0.1:$port/"
fi
vg=$!
trap 'kill $vg 2>/dev/null || true' EXIT

profile_wait_listening "$port" "$vg"

# the first handshakes run code lackey has not translated yet: minutes
MESSAGES=$messages CONNS=$conns BATCH=1 SIZE=${SIZE:-20} OPEN_TIMEOUT=600 \
    /usr/bin/python3 "$root/bench/profile_echo.py" "$url"
cat "/proc/$vg/maps" >"$out/maps"
kill -INT $vg
sleep 2
kill -KILL $vg 2>/dev/null || true
wait $vg || true
wait $counter
cat "$out/pages.txt"
