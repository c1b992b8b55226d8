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

. "$(dirname "$0")/profile_lib.sh"
profile_setup "$@"
port=${PORT:-18990}
messages=${MESSAGES:-100000}

profile_echo_conf

valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
    "$nginx" -p "$out/" -c "$out/nginx.conf" 2>"$out/valgrind.log" &
vg=$!
trap 'kill $vg 2>/dev/null || true' EXIT

profile_wait_listening "$port" "$vg"

MESSAGES=$messages ZERO_CMD="callgrind_control -z $vg" \
    DUMP_CMD="callgrind_control -d $vg" \
    /usr/bin/python3 "$root/bench/profile_echo.py" "ws://127.0.0.1:$port/"
kill -QUIT $vg    # graceful: NGINX exits, callgrind writes its file
wait $vg || true

# the dump taken after the last echo (the file written at exit has the closes)
dump=$(ls "$out"/callgrind.out.* | head -1)
total=$(profile_total "$dump")
echo "total instructions: $total"
echo "per message: $((total / messages))"
profile_top "$dump"
