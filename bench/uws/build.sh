#!/bin/sh
# Builds bench/uws/uws_bench_server.cpp against uWebSockets sources:
#   UWS_SRC=/path/to/uWebSockets (with its uSockets/ inside) bench/uws/build.sh OUT
# The sources are the user's (not vendored); bench/run.sh runs the uws peer
# only when UWS_SERVER names the binary this makes. -O3 and LTO, no TLS:
# the build uWebSockets' own Makefile makes by default.
set -eu
src=${UWS_SRC:?UWS_SRC must name a uWebSockets checkout with uSockets/ inside}
out=${1:?usage: build.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT
(cd "$obj" && cc -O3 -flto -DLIBUS_NO_SSL -std=c11 -I"$src/uSockets/src" \
    -c "$src"/uSockets/src/*.c "$src"/uSockets/src/eventing/*.c "$src"/uSockets/src/crypto/*.c)
c++ -O3 -flto -std=c++20 -DLIBUS_NO_SSL -I"$src/src" -I"$src/uSockets/src" \
    "$here/uws_bench_server.cpp" "$obj"/*.o -lz -o "$out"
