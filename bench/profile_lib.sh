# Sourced by bench/profile_echo.sh and bench/profile_fanout.sh: what both
# callgrind profiles do around their own workload. POSIX sh, like them.
#
#     . "$(dirname "$0")/profile_lib.sh"
#     profile_setup "$@"            # root, out (the first argument), nginx
#     ... write "$out/nginx.conf" (profile_conf_head starts it, or
#         profile_echo_conf writes all of it) ...
#     valgrind ... &  vg=$!
#     profile_wait_listening "$port" "$vg"
#     ... the workload ...
#     total=$(profile_total "$dump")
#     profile_top "$dump"

# root: the repository; out: where the profile goes (the first argument,
# else a new /tmp directory), emptied of older callgrind files; nginx: the
# binary (NGX_BIN).
profile_setup() {
    root=$(cd "$(dirname "$0")/.." && pwd)
    out=${1:-/tmp/ngx-ws-profile.$$}
    nginx=${NGX_BIN:-/usr/sbin/nginx}

    mkdir -p "$out/logs"
    rm -f "$out"/callgrind.out*
}

# The main-context lines of both configurations: the module (MODULE, else
# this checkout's build), in the foreground, one worker, logs in $out.
profile_conf_head() {
    cat <<CONF
load_module ${MODULE:-$root/build/ngx_http_ws_module.so};
daemon off;
worker_processes 1;
error_log $out/logs/error.log warn;
pid $out/nginx.pid;
CONF
}

# The echo profiles' server (profile_echo.sh, profile_pages.sh):
# $out/nginx.conf, one process without master, every location echoing on
# $port.
profile_echo_conf() {
    cat >"$out/nginx.conf" <<CONF
$(profile_conf_head)
master_process off;
events { worker_connections 4096; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$port;
        location / { ws_listen; ws_echo on; }
    }
}
CONF
}

# Waits until NGINX accepts on $1 (valgrind makes start-up slow); after a
# minute, stops valgrind ($2) and fails.
profile_wait_listening() {
    i=0
    until /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 600 ] || { kill "$2"; exit 1; }; sleep 0.1
    done
}

# The instructions a callgrind dump counted.
profile_total() {
    callgrind_annotate "$1" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}

# The 30 functions that cost the most themselves. A dump's table lists
# main and its callers at 100%: they are left out.
profile_top() {
    callgrind_annotate --inclusive=no --threshold=100 "$1" 2>/dev/null \
        | sed -n '/file:function/,$p' | grep -v '(100.0%)' | head -30
}
