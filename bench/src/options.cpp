#include "options.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace wsload {
namespace {

void usage() {
    std::fputs(
        "usage:\n"
        "  wsload echo   --url ws://127.0.0.1:PORT/path --connections N --size B\n"
        "                --duration S [--pipeline K]\n"
        "  wsload fanout --url ws://127.0.0.1:PORT/sub/path --connections N\n"
        "                --publish http://127.0.0.1:PORT/pub/path --rate R --duration S\n"
        "                [--publish-connections N]\n"
        "  wsload idle    --url ws://127.0.0.1:PORT/path --connections N --server-pid PID\n"
        "                [--settle S]\n"
        "  wsload connect --url ws://... or http://... --duration S [--concurrency N]\n"
        "common: [--warmup S] [--server-pid PID] [--upstream-pid PID] [--label NAME] [--sources N]\n"
        "        [--size B] [--max-in-flight N] [--deflate own|shared]\n"
        "        [--ca-file PEM]\n"
        "echo, fanout and idle take wss:// URLs (TLS); the server's certificate\n"
        "is NOT verified unless --ca-file names the CA to verify it against\n"
        "(the bench's servers use self-signed certificates on loopback).\n"
        "connect and fanout's --publish are plain: ws:// and http:// only.\n",
        stderr);
}

bool to_number(std::string_view text, double& out) {
    char* end = nullptr;
    const std::string copy(text);
    out = std::strtod(copy.c_str(), &end);
    return end != nullptr && *end == '\0' && !copy.empty() && out >= 0;
}

}  // namespace

std::optional<Options> parse_options(int argc, char** argv) {
    if (argc < 2) {
        usage();
        return std::nullopt;
    }
    Options o;
    const std::string_view mode = argv[1];
    if (mode == "echo") {
        o.mode = Mode::echo;
    } else if (mode == "fanout") {
        o.mode = Mode::fanout;
    } else if (mode == "idle") {
        o.mode = Mode::idle;
    } else if (mode == "connect") {
        o.mode = Mode::connect;
    } else {
        usage();
        return std::nullopt;
    }

    for (int i = 2; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (i + 1 >= argc) {
            std::fprintf(stderr, "wsload: %s needs a value\n", argv[i]);
            usage();
            return std::nullopt;
        }
        const std::string_view value = argv[++i];
        double number = 0;
        const bool numeric = to_number(value, number);
        auto need_number = [&]() {
            if (!numeric) std::fprintf(stderr, "wsload: %s wants a number\n", argv[i - 1]);
            return numeric;
        };

        if (flag == "--url") {
            o.url = value;
        } else if (flag == "--publish") {
            o.publish_url = value;
        } else if (flag == "--label") {
            o.label = value;
        } else if (flag == "--connections") {
            if (!need_number()) return std::nullopt;
            o.connections = static_cast<std::size_t>(number);
        } else if (flag == "--size") {
            if (!need_number()) return std::nullopt;
            o.size = static_cast<std::size_t>(number);
        } else if (flag == "--duration") {
            if (!need_number()) return std::nullopt;
            o.duration_s = number;
        } else if (flag == "--warmup") {
            if (!need_number()) return std::nullopt;
            o.warmup_s = number;
        } else if (flag == "--pipeline") {
            if (!need_number()) return std::nullopt;
            o.pipeline = static_cast<std::size_t>(number);
        } else if (flag == "--rate") {
            if (!need_number()) return std::nullopt;
            o.rate = number;
        } else if (flag == "--max-in-flight") {
            if (!need_number()) return std::nullopt;
            o.max_publish_in_flight = static_cast<std::size_t>(number);
        } else if (flag == "--publish-connections") {
            if (!need_number() || number < 1) {
                std::fputs("wsload: --publish-connections wants at least 1\n", stderr);
                return std::nullopt;
            }
            o.publish_connections = static_cast<std::size_t>(number);
        } else if (flag == "--sources") {
            if (!need_number()) return std::nullopt;
            o.source_addresses = static_cast<int>(number);
        } else if (flag == "--concurrency") {
            if (!need_number()) return std::nullopt;
            o.concurrency = static_cast<std::size_t>(number);
        } else if (flag == "--settle") {
            if (!need_number()) return std::nullopt;
            o.settle_s = number;
        } else if (flag == "--server-pid") {
            if (!need_number()) return std::nullopt;
            o.server_pid = static_cast<pid_t>(number);
        } else if (flag == "--upstream-pid") {
            if (!need_number()) return std::nullopt;
            o.upstream_pid = static_cast<pid_t>(number);
        } else if (flag == "--ca-file") {
            o.ca_file = value;
        } else if (flag == "--deflate") {
            if (value == "own") {
                o.deflate_offer = "permessage-deflate";
            } else if (value == "shared") {
                o.deflate_offer = "permessage-deflate; server_no_context_takeover";
            } else {
                std::fputs("wsload: --deflate wants own or shared\n", stderr);
                return std::nullopt;
            }
        } else {
            std::fprintf(stderr, "wsload: unknown option %s\n", argv[i - 1]);
            usage();
            return std::nullopt;
        }
    }

    if (o.url.empty() || (o.mode == Mode::fanout && o.publish_url.empty())) {
        std::fputs("wsload: --url is required, and --publish for fanout\n", stderr);
        usage();
        return std::nullopt;
    }
    if (o.mode == Mode::idle && !o.server_pid) {
        std::fputs("wsload: idle measures the server's memory: --server-pid is required\n",
                   stderr);
        return std::nullopt;
    }
    if (o.connections == 0 || o.pipeline == 0 || o.duration_s <= 0 || o.concurrency == 0) {
        std::fputs("wsload: --connections, --pipeline, --concurrency and --duration must be "
                   "positive\n", stderr);
        return std::nullopt;
    }
    return o;
}

}  // namespace wsload
