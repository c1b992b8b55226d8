// What a run measured, printed as one line for people and one JSON line for
// scripts (bench/run.sh turns the JSON lines into the Markdown table).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "latency_histogram.h"

namespace wsload {

struct RunResult {
    std::string mode;
    std::string label;
    std::size_t connections = 0;
    std::size_t connections_failed = 0;
    std::size_t connections_lost = 0;  // open at the start, closed during the run
    std::size_t size = 0;
    std::size_t pipeline = 0;
    double duration_s = 0;
    std::uint64_t messages = 0;        // echo: round trips; fanout: deliveries
    double rate = 0;                   // messages per second over duration_s
    double target_rate = 0;            // fanout: the --rate asked for
    double publish_rate = 0;           // fanout only: publishes achieved
    std::uint64_t published = 0;
    std::uint64_t publish_errors = 0;
    double delivery_ratio = 0;         // fanout: deliveries / (published x subscribers)
    LatencyHistogram latency;
    std::uint64_t memory_before_bytes = 0;  // idle: server Pss before connecting
    std::uint64_t memory_after_bytes = 0;   // idle: and with every connection open
    double bytes_per_connection = 0;        // idle: (after - before) / open connections
    double server_cpu = -1;            // cores used by the server, -1 if not sampled
    double client_cpu = 0;             // cores used by wsload
    double upstream_cpu = -1;          // echo: cores of --upstream-pid, -1 if not sampled
    std::string first_error;
};

void print_result(const RunResult& r);

}  // namespace wsload
