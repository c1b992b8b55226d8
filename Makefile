# ngx_ws: build, run the demo, test, benchmark.
#
#   make run     build, then serve conf_examples/demo.conf on 127.0.0.1:8080
#                (ws) and 127.0.0.1:8443 (wss, self-signed certificate),
#                with the chat's backend (conf_examples/demo_backend.py)
#                on 127.0.0.1:8092
#   make run-cluster  a private redis-server and two NGINX nodes
#                (127.0.0.1:8081, :8082) sharing channels through it
#   make test    every test layer: core unit tests, fuzz smoke run,
#                integration tests against a real NGINX, client interop,
#                the chaos tests, the sanitizers
#   make chaos   faults on real links (network namespaces, nft, tun): clients
#                and Redis that vanish, lossy links, killed workers, no
#                descriptors left, TLS garbage, 50 reloads under 1,000
#                clients; the links need root
#   make soak    30 minutes of churn, fan-out and compression, memory
#                recorded (build/soak/); SOAK_SECONDS=300 for a short one
#   make bench   core micro-benchmarks, then ngx_ws side by side with nchan,
#                Node ws and plain NGINX (bench/results/latest.md)
#
# Both install the Debian packages they need first (apt-get, as root or
# through sudo). NGINX_SRC=/path/to/nginx-x.y.z builds the module against
# another NGINX source tree instead of Debian's nginx-dev.

SHELL        := /bin/bash
BUILD        := $(CURDIR)/build
NGINX_BIN    ?= /usr/sbin/nginx
NGINX_SRC    ?=
MODULE       := $(BUILD)/ngx_http_ws_module.so
CORE_LIB     := $(BUILD)/core/libwscore.a
JOBS         ?= 2
FUZZ_SECONDS ?= 20

DEBIAN_PACKAGES := nginx nginx-dev build-essential cmake pkg-config \
    libssl-dev libpcre2-dev zlib1g-dev libboost-test-dev libbenchmark-dev \
    libsimdjson-dev libjwt-dev libhiredis-dev liburing-dev redis-server redis-tools \
    clang libclang-rt-14-dev openssl curl procps strace \
    perl libtest-base-perl libio-socket-ssl-perl \
    python3 python3-websockets nodejs node-ws chromium prometheus

ifeq ($(NGINX_SRC),)
NGX_TREE     := $(BUILD)/nginx-src
else
NGX_TREE     := $(BUILD)/nginx-custom
endif

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps core module build run run-cluster test test-core test-nginx \
        test-core-asan fuzz fuzz-smoke asan bench clean check-endpoint \
        docker-check chaos soak

all: build

# Installs only what is missing, so a second run costs nothing.
deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	        | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	        --no-install-recommends $$missing; \
	fi

# CORE_CMAKE_FLAGS=-DWSCORE_TESTS=OFF builds the library alone (the image)
core:
	cmake -S core -B $(BUILD)/core -DCMAKE_BUILD_TYPE=Release \
	    $(CORE_CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD)/core -j$(JOBS)

# -O2 as Debian builds NGINX and its modules (NGINX alone would use -O),
# which also lays the functions marked hot (NGX_HTTP_WS_HOT) out together.
MODULE_CC_OPT ?= -O2

# The module is configured once per tree (about 20 s) and re-linked on
# every build, since objs/Makefile does not know the core library.
$(NGX_TREE)/objs/Makefile: config
	rm -rf $(NGX_TREE)
ifeq ($(NGINX_SRC),)
	cp -r /usr/share/nginx/src $(NGX_TREE)
	cd $(NGX_TREE) && . ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" --with-cc-opt="$(MODULE_CC_OPT)" \
	        --add-dynamic-module=$(CURDIR) >$(BUILD)/configure.log
else
	cp -r $(NGINX_SRC) $(NGX_TREE)
	cd $(NGX_TREE) && ./configure --with-compat --with-http_ssl_module \
	    --with-http_v2_module --with-cc-opt="$(MODULE_CC_OPT)" \
	    --add-dynamic-module=$(CURDIR) \
	    >$(BUILD)/configure.log
endif

module: core $(NGX_TREE)/objs/Makefile
	rm -f $(NGX_TREE)/objs/ngx_http_ws_module.so
	$(MAKE) -C $(NGX_TREE) -f objs/Makefile modules
	@# a new file, renamed into place: an NGINX running the old module
	@# keeps its mapping (cp over it in place would crash its workers)
	cp $(NGX_TREE)/objs/ngx_http_ws_module.so $(MODULE).tmp
	mv -f $(MODULE).tmp $(MODULE)

build: deps
	@mkdir -p $(BUILD)
	$(MAKE) module

# The demo runs from its own prefix: config, certificate, logs, temp dirs.
DEMO := $(BUILD)/demo
# the Node `ws` echo app behind the demo's ws_proxy_pass (demo.conf)
DEMO_APP_PORT := 8091

run: build
	@mkdir -p $(DEMO)/conf/certs $(DEMO)/logs $(DEMO)/modules $(DEMO)/temp \
	    $(DEMO)/html
	@cp conf_examples/demo.conf $(DEMO)/conf/nginx.conf
	@cp conf_examples/chat.html conf_examples/ws_client.js \
	    conf_examples/dashboard.html $(DEMO)/html/
	@cp conf_examples/demo-jwt.key $(DEMO)/conf/
	@ln -sf $(MODULE) $(DEMO)/modules/ngx_http_ws_module.so
	@[ -f $(DEMO)/conf/certs/demo.crt ] || openssl req -x509 -nodes \
	    -newkey rsa:2048 -days 365 -subj /CN=127.0.0.1 \
	    -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	    -keyout $(DEMO)/conf/certs/demo.key \
	    -out $(DEMO)/conf/certs/demo.crt 2>/dev/null
	$(NGINX_BIN) -p $(DEMO)/ -c conf/nginx.conf -t -q
	@echo "ngx_ws demo: ws://127.0.0.1:8080/echo wss://127.0.0.1:8443/echo"
	@echo "  chat: http://127.0.0.1:8080/chat.html, ws://127.0.0.1:8080/chat/<room>,"
	@echo "  JSON protocol: ws://127.0.0.1:8080/ws, publish: POST /pub/<room>"
	@echo "  dashboard: http://127.0.0.1:8080/, metrics: /metrics (?format=json),"
	@echo "  health: /healthz (liveness), /readyz (readiness)"
	@echo "  with a token (docs/security.md): ws://127.0.0.1:8080/secure/echo?token=..."
	@echo "  chat's backend: conf_examples/demo_backend.py on 127.0.0.1:8092"
	@echo "  proxied: ws://127.0.0.1:8080/proxy/echo -> echo app on 127.0.0.1:$(DEMO_APP_PORT)"
	@echo "logs in $(DEMO)/logs (the backend's: backend.log); Ctrl-C stops it"
	@# the chat's backend and the application behind /proxy/echo, stopped
	@# with NGINX
	/usr/bin/python3 conf_examples/demo_backend.py 127.0.0.1 8092 \
	    >> $(DEMO)/logs/backend.log 2>&1 & backend=$$!; \
	NODE_PATH=/usr/share/nodejs node conf_examples/echo_app.js \
	    $(DEMO_APP_PORT) >$(DEMO)/logs/echo-app.log 2>&1 & app=$$!; \
	trap 'kill $$app $$backend 2>/dev/null' EXIT INT TERM HUP; \
	$(NGINX_BIN) -p $(DEMO)/ -c conf/nginx.conf

# A synthetic check: one round trip (an echo, or the JSON protocol's
# answer), e.g. URL=ws://127.0.0.1:8080/echo, options in CHECK_OPTIONS.
# make exits 2 for any failed recipe, so a failed check is 2 here, its 1
# shown in make's "Error 1"; load balancers and cron run the script itself
# (0 passed, 1 failed, 2 usage).
check-endpoint:
	@[ -n "$(URL)" ] || { echo "usage: make check-endpoint URL=ws://host:port/path"; exit 2; }
	@/usr/bin/python3 conf_examples/ws_check.py $(CHECK_OPTIONS) '$(URL)'

# The image of docker/Dockerfile, built and run here with Debian's podman,
# then checked as any endpoint is: ws_check.py against its echo. Nothing is
# pulled from a registry: the Debian 12 base comes from mmdebstrap (made
# once, kept in build/docker/). Minutes, so not part of `make test`.
# runc and cgroupfs because crun fails on some kernels' cgroup mounts; the
# ulimits are ones a sandboxed podman may set (raising them can be refused).
DOCKER_CHECK_PORT ?= 8090
DOCKER_BASE       := localhost/ngx_ws-base:bookworm
PODMAN            := podman --runtime runc --cgroup-manager cgroupfs
PODMAN_LIMITS     := --ulimit nofile=1000:1000 --ulimit nproc=1000:1000

docker-check:
	@$(MAKE) -s deps DEBIAN_PACKAGES="mmdebstrap podman runc"
	@mkdir -p $(BUILD)/docker
	[ -f $(BUILD)/docker/base.tar ] || mmdebstrap --variant=minbase \
	    bookworm $(BUILD)/docker/base.tar
	$(PODMAN) image exists $(DOCKER_BASE) || \
	    $(PODMAN) import $(BUILD)/docker/base.tar $(DOCKER_BASE)
	$(PODMAN) build --network=host $(PODMAN_LIMITS) \
	    --build-arg BASE=$(DOCKER_BASE) -f docker/Dockerfile \
	    --ignorefile docker/Dockerfile.dockerignore -t ngx_ws .
	@$(PODMAN) rm -f ngx_ws-check >/dev/null 2>&1; \
	$(PODMAN) run -d --name ngx_ws-check $(PODMAN_LIMITS) \
	    -p 127.0.0.1:$(DOCKER_CHECK_PORT):8080 ngx_ws >/dev/null || exit 1; \
	for i in $$(seq 50); do \
	    (exec 3<>/dev/tcp/127.0.0.1/$(DOCKER_CHECK_PORT)) 2>/dev/null && break; \
	    sleep 0.2; \
	done; \
	/usr/bin/python3 conf_examples/ws_check.py --mode echo \
	    ws://127.0.0.1:$(DOCKER_CHECK_PORT)/echo; rc=$$?; \
	[ $$rc = 0 ] || $(PODMAN) logs ngx_ws-check; \
	$(PODMAN) rm -f ngx_ws-check >/dev/null; \
	exit $$rc

# conf_examples/cluster: Redis on 127.0.0.1:6390, nodes on 8081 and 8082,
# all from one prefix (build/cluster); docker/compose.yaml runs the same.
CLUSTER := $(BUILD)/cluster

run-cluster: build
	@mkdir -p $(CLUSTER)/conf $(CLUSTER)/logs $(CLUSTER)/modules \
	    $(CLUSTER)/temp $(CLUSTER)/html $(CLUSTER)/redis
	@cp conf_examples/cluster/*.conf $(CLUSTER)/conf/
	@cp conf_examples/chat.html conf_examples/ws_client.js $(CLUSTER)/html/
	@ln -sf $(MODULE) $(CLUSTER)/modules/ngx_http_ws_module.so
	conf_examples/cluster/run.sh $(CLUSTER) $(NGINX_BIN)

test: build
	$(MAKE) test-core
	$(MAKE) fuzz-smoke FUZZ_SECONDS=$(FUZZ_SECONDS)
	$(MAKE) test-nginx
	$(MAKE) chaos
	$(MAKE) asan

test-core:
	ctest --test-dir $(BUILD)/core --output-on-failure

# playwright-core drives Debian's chromium in the browser test; it is
# pinned and installed into build/, never downloading a browser itself.
# 1.61 is its last release that runs on Debian 12's nodejs (18): from 1.62
# on it exits at start unless Node is 20 or newer.
# Debian's nodejs comes without npm (a package of its own); a nodejs that
# bundles npm (NodeSource's) conflicts with that package, so it is only
# installed when there is no npm command at all.
PLAYWRIGHT_VERSION := 1.61.1
PLAYWRIGHT_STAMP := $(BUILD)/npm/playwright-core-$(PLAYWRIGHT_VERSION).stamp

$(PLAYWRIGHT_STAMP):
	@command -v npm >/dev/null || $(MAKE) deps DEBIAN_PACKAGES=npm
	mkdir -p $(BUILD)/npm
	npm install --prefix $(BUILD)/npm --no-audit --no-fund --silent \
	    playwright-core@$(PLAYWRIGHT_VERSION)
	touch $@

# t/*.t only: t/chaos/ is make chaos's (it needs root and its own tools)
test-nginx: $(PLAYWRIGHT_STAMP)
	NGX_WS_MODULE=$(MODULE) NGX_BIN=$(NGINX_BIN) prove -I t/lib t/

# Real faults: NGINX, its clients and Redis in network namespaces of their
# own joined by veth pairs, packets dropped with nft, or delayed by a relay
# process on a link of tun devices (t/lib/Test/NgxWs/Netns.pm). Every test of a link skips,
# saying why, where namespaces cannot be made (not root, no CAP_SYS_ADMIN
# in a container); killed workers, TLS garbage and exhausted descriptors
# need none.
chaos: build
	@$(MAKE) -s deps DEBIAN_PACKAGES="iproute2 nftables redis-server"
	NGX_WS_MODULE=$(MODULE) NGX_BIN=$(NGINX_BIN) prove -I t/lib t/chaos/

# Not in make test: it lasts SOAK_SECONDS (30 minutes by default) and
# writes the workers' RSS and ws_zone's use over time to build/soak/.
SOAK_SECONDS ?= 1800
soak: build
	SOAK_SECONDS=$(SOAK_SECONDS) \
	NGX_WS_TEST_FILE_TIMEOUT=$$(( $(SOAK_SECONDS) + 300 )) \
	NGX_WS_MODULE=$(MODULE) NGX_BIN=$(NGINX_BIN) prove -v -I t/lib t/soak/

FUZZERS := fuzz_frame_parser fuzz_handshake fuzz_control_protocol \
           fuzz_deflate fuzz_jwt_claims fuzz_jwt_token fuzz_origin \
           fuzz_backend_answer fuzz_traceparent

$(BUILD)/fuzz/fuzz_frame_parser: core
	CC=clang CXX=clang++ cmake -S core -B $(BUILD)/fuzz \
	    -DWSCORE_FUZZ=ON -DWSCORE_TESTS=OFF >/dev/null
	cmake --build $(BUILD)/fuzz -j$(JOBS)

# The fuzzers are built not to recover from UBSan reports; the options
# say so again, so that a finding stops the run whatever the build.
fuzz-smoke: $(BUILD)/fuzz/fuzz_frame_parser
	@for f in $(FUZZERS); do \
	    corpus=$(BUILD)/fuzz/corpus/$${f#fuzz_}; mkdir -p $$corpus; \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $(BUILD)/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) \
	        -print_final_stats=1 $$corpus core/fuzz/corpus/$${f#fuzz_} \
	        2>$(BUILD)/fuzz/$$f.log || { tail -50 $(BUILD)/fuzz/$$f.log; \
	        exit 1; }; \
	    grep -h 'stat::number_of_executed_units' $(BUILD)/fuzz/$$f.log \
	        | sed "s/^/$$f: /"; \
	done

fuzz:
	$(MAKE) fuzz-smoke FUZZ_SECONDS=$${FUZZ_SECONDS:-600}

# Core tests and the module under AddressSanitizer + UBSan. Debian's nginx
# binary is not instrumented, so a wrapper preloads the sanitizer runtimes
# into it; reports go to build/asan/logs and any report fails the run.
# UBSan findings are fatal (no recovery, halt_on_error): a worker that hits
# one exits with code 1, which fails check_logs, and its report is kept.
ASAN_TREE := $(BUILD)/nginx-asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
    -fno-omit-frame-pointer

# The core's unit tests alone under the sanitizers (build/core-asan).
test-core-asan: deps
	cmake -S core -B $(BUILD)/core-asan -DCMAKE_BUILD_TYPE=Debug \
	    -DWSCORE_SANITIZE=ON >/dev/null
	cmake --build $(BUILD)/core-asan -j$(JOBS)
	ctest --test-dir $(BUILD)/core-asan --output-on-failure

asan: test-core-asan
	@if [ ! -f $(ASAN_TREE)/objs/Makefile ] \
	        || [ config -nt $(ASAN_TREE)/objs/Makefile ]; then \
	    rm -rf $(ASAN_TREE) && cp -r /usr/share/nginx/src $(ASAN_TREE) && \
	    cd $(ASAN_TREE) && . ./conf_flags && \
	    WSCORE_LIB=$(BUILD)/core-asan/libwscore.a ./configure \
	        "$${NGX_CONF_FLAGS[@]}" --with-cc-opt="$(ASAN_FLAGS)" \
	        --with-ld-opt="$(ASAN_FLAGS)" \
	        --add-dynamic-module=$(CURDIR) >$(BUILD)/configure-asan.log; \
	fi
	rm -f $(ASAN_TREE)/objs/ngx_http_ws_module.so
	$(MAKE) -C $(ASAN_TREE) -f objs/Makefile modules
	@# workers run as another user (nobody): they must be able to write
	@# their reports, or a worker's report is lost and only its exit shows
	@mkdir -p $(BUILD)/asan/logs && chmod 1777 $(BUILD)/asan/logs \
	    && rm -f $(BUILD)/asan/logs/*
	@printf '%s\n' '#!/bin/sh' \
	    'LD_PRELOAD="$(shell gcc -print-file-name=libasan.so) $(shell gcc -print-file-name=libubsan.so)" \' \
	    'ASAN_OPTIONS=detect_leaks=0:log_path=$(BUILD)/asan/logs/asan \' \
	    'UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(BUILD)/asan/logs/ubsan \' \
	    'exec $(NGINX_BIN) "$$@"' > $(BUILD)/asan/nginx
	@chmod +x $(BUILD)/asan/nginx
	@# everything runs about three times slower: the time limits follow.
	@# UBSan writes to the error logs, whence the harness copies reports
	@# (NGX_WS_SANITIZER_LOGS). They are shown even when tests failed.
	@# t/*.t: the chaos tests measure times that a sanitized build misses.
	@rc=0; NGX_WS_MODULE=$(ASAN_TREE)/objs/ngx_http_ws_module.so \
	    NGX_BIN=$(BUILD)/asan/nginx NGX_WS_TEST_FILE_TIMEOUT=900 \
	    NGX_WS_TEST_CLIENT_TIMEOUT=180 \
	    NGX_WS_SANITIZER_LOGS=$(BUILD)/asan/logs \
	    prove -I t/lib t/ || rc=$$?; \
	if ls $(BUILD)/asan/logs/* >/dev/null 2>&1; then \
	    echo "sanitizer reports:"; cat $(BUILD)/asan/logs/*; exit 1; fi; \
	exit $$rc
	@echo "asan: no sanitizer reports"

# The core's Google Benchmark, then bench/run.sh: wsload against ngx_ws,
# nchan, Node ws, NGINX proxy_pass to Node ws and NGINX `return 204`, side
# by side, RUNS times each; writes bench/results/latest.md and the raw
# records beside it (about 15 minutes with the defaults); then
# bench/cluster.sh: fan-out through Redis between two nodes against local
# fan-out (bench/results/cluster.md, about 2 minutes).
# UWS_SRC=/path/to/uWebSockets (with uSockets/ inside) adds uWebSockets as
# a peer (bench/uws/, results/peers.md); npm's prebuilt uWebSockets.js needs
# glibc 2.38, Debian 12 has 2.36, so it is built from the sources given.
BENCH_PACKAGES := libnginx-mod-nchan
UWS_SRC ?=

bench: build
	$(MAKE) deps DEBIAN_PACKAGES="$(BENCH_PACKAGES)"
	cmake -S core -B $(BUILD)/bench -DCMAKE_BUILD_TYPE=Release \
	    -DWSCORE_BENCH=ON -DWSCORE_TESTS=OFF >/dev/null
	cmake --build $(BUILD)/bench -j$(JOBS)
	@mkdir -p bench/results
	$(BUILD)/bench/wscore_bench --benchmark_out=bench/results/core.json \
	    --benchmark_out_format=json
	$(if $(UWS_SRC),UWS_SRC=$(UWS_SRC) bench/uws/build.sh $(BUILD)/uws_bench_server)
	UWS_SERVER=$(if $(UWS_SRC),$(BUILD)/uws_bench_server) bench/run.sh
	bench/cluster.sh

clean:
	rm -rf $(BUILD)
