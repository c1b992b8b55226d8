// Command line of wsload: its modes and their knobs.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <sys/types.h>

namespace wsload {

enum class Mode { echo, fanout, idle, connect };

struct Options {
    Mode mode = Mode::echo;
    std::string url;
    std::string publish_url;
    std::string label;           // names the server in the output ("ngx_ws", "nchan")
    std::size_t connections = 100;
    std::size_t size = 64;       // payload bytes (fanout: at least the 20-digit timestamp)
    double duration_s = 10.0;
    double warmup_s = 1.0;
    std::size_t pipeline = 1;
    double rate = 100.0;         // fanout publishes per second
    std::size_t max_publish_in_flight = 1000;
    // fanout: keep-alive connections the publisher spreads its POSTs over.
    // A server answers a connection's pipelined requests one at a time, so
    // with one connection a publish that waits (for Redis) holds the next.
    std::size_t publish_connections = 1;
    int source_addresses = 4;
    std::size_t concurrency = 64;  // connect: connections in progress at once
    double settle_s = 3.0;         // idle: wait after the last connect before measuring
    std::optional<pid_t> server_pid;
    // a second process whose CPU is sampled over the same window (the app
    // behind a proxy), reported apart from the server's
    std::optional<pid_t> upstream_pid;
    // permessage-deflate offer: empty (none), or the header value for
    // "--deflate own" (context takeover) / "--deflate shared" (no server
    // context takeover: the server may share one compressed frame).
    std::string deflate_offer;
    std::string ca_file;           // wss://: verify the server against it
};

// Parses argv; on error prints usage to stderr and returns nullopt.
std::optional<Options> parse_options(int argc, char** argv);

}  // namespace wsload
