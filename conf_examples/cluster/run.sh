#!/bin/bash
# Starts the cluster of `make run-cluster` from a prefix laid out by the
# Makefile: a private redis-server (127.0.0.1:6390) and two NGINX nodes
# (127.0.0.1:8081, 127.0.0.1:8082), then waits; Ctrl-C stops all three.
#
#   conf_examples/cluster/run.sh <prefix> <nginx binary>
set -euo pipefail

prefix=$1
nginx=${2:-/usr/sbin/nginx}

stop() {
    [ -n "${tailer:-}" ] && kill "$tailer" 2>/dev/null || true
    for n in node1 node2; do
        [ -f "$prefix/logs/$n.pid" ] && kill -QUIT "$(cat "$prefix/logs/$n.pid")" 2>/dev/null || true
    done
    [ -f "$prefix/redis/redis.pid" ] && kill "$(cat "$prefix/redis/redis.pid")" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

for n in node1 node2; do
    "$nginx" -p "$prefix/" -c "conf/$n.conf" -t -q
done

redis-server "$prefix/conf/redis.conf" --dir "$prefix/redis" \
    --daemonize yes --pidfile "$prefix/redis/redis.pid" \
    --logfile "$prefix/logs/redis.log"

for n in node1 node2; do
    "$nginx" -p "$prefix/" -c "conf/$n.conf"
done

echo "ngx_ws cluster: redis 127.0.0.1:6390, nodes 127.0.0.1:8081 and 127.0.0.1:8082"
echo "  chat: http://127.0.0.1:8081/chat.html and http://127.0.0.1:8082/chat.html,"
echo "  ws://127.0.0.1:808{1,2}/chat/<room>, ws://127.0.0.1:808{1,2}/ws,"
echo "  publish on either node: curl -d hi http://127.0.0.1:8082/pub/<room>"
echo "logs in $prefix/logs; Ctrl-C stops the cluster"

# in the background, so that a signal reaches this shell at once
tail -n 0 -F "$prefix/logs/node1-error.log" "$prefix/logs/node2-error.log" &
tailer=$!
wait "$tailer"
