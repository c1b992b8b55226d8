// wsload: WebSocket load generator for ngx_ws and the servers we compare it
// with. See bench/README.md for the modes and bench/run.sh for the suite.
#include <algorithm>
#include <cstdio>

#include "connect_bench.h"
#include "echo_bench.h"
#include "fanout_bench.h"
#include "idle_bench.h"
#include "options.h"
#include "report.h"

int main(int argc, char** argv) {
    const auto options = wsload::parse_options(argc, argv);
    if (!options) return 2;

    wsload::RunResult result;
    switch (options->mode) {
    case wsload::Mode::echo: result = wsload::run_echo(*options); break;
    case wsload::Mode::fanout: result = wsload::run_fanout(*options); break;
    case wsload::Mode::idle: result = wsload::run_idle(*options); break;
    case wsload::Mode::connect: result = wsload::run_connect(*options); break;
    }
    if (result.duration_s <= 0) return 1;
    wsload::print_result(result);

    // A server below 90% of a core while the client is busy means the figures
    // may describe wsload rather than the server. In fan-out at a fixed rate
    // a calm server is expected; the warning then says it was not saturated.
    // A proxy and the app behind it (--upstream-pid) share the server's core,
    // so their sum is what saturates it.
    const double server_side = result.server_cpu + std::max(result.upstream_cpu, 0.0);
    if (options->mode != wsload::Mode::idle && options->server_pid && result.server_cpu >= 0 && server_side < 0.9) {
        std::fprintf(stderr,
                     "wsload: warning: server used %.0f%% of one core (client %.0f%%): "
                     "the server was not saturated; the client may be the bottleneck\n",
                     server_side * 100, result.client_cpu * 100);
    }
    return 0;
}
