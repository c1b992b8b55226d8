// Throughput of the receive path (header parse + unmask + UTF-8 check +
// reassembly) through the C API, frame header encoding, the UTF-8
// validator alone, the channel router's fan-out and churn, and the
// control protocol's request parser.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "utf8_validator.hpp"
#include "wscore.h"

namespace {

std::vector<uint8_t> masked_text_frame(const std::string &payload)
{
    const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    std::vector<uint8_t> f{0x81};
    const uint64_t n = payload.size();
    if (n < 126) {
        f.push_back(static_cast<uint8_t>(0x80 | n));
    } else if (n <= 0xFFFF) {
        f.push_back(0x80 | 126);
        f.push_back(static_cast<uint8_t>(n >> 8));
        f.push_back(static_cast<uint8_t>(n));
    } else {
        f.push_back(0x80 | 127);
        for (int i = 7; i >= 0; --i) f.push_back(static_cast<uint8_t>(n >> (8 * i)));
    }
    f.insert(f.end(), key, key + 4);
    for (size_t i = 0; i < n; ++i) {
        f.push_back(static_cast<uint8_t>(payload[i] ^ key[i % 4]));
    }
    return f;
}

std::string ascii_text(size_t n)
{
    std::string s;
    while (s.size() < n) s += "The quick brown fox jumps over the lazy dog. ";
    s.resize(n);
    return s;
}

std::string multibyte_text(size_t n)
{
    std::string s;
    // Greek, CJK and emoji: 2-, 3- and 4-byte sequences.
    while (s.size() + 16 < n) s += "κόσμε 世界 \xf0\x9f\x98\x80 ";
    while (s.size() < n) s += 'a';
    return s;
}

// Many frames of one size in a buffer, fed as one stream.
void receive_text_frames(benchmark::State &state)
{
    const size_t payload_size = static_cast<size_t>(state.range(0));
    const std::vector<uint8_t> frame = masked_text_frame(ascii_text(payload_size));
    const size_t frames = std::max<size_t>(1, (1 << 20) / frame.size());
    std::vector<uint8_t> stream;
    for (size_t i = 0; i < frames; ++i) stream.insert(stream.end(), frame.begin(), frame.end());

    wscore_config_t cfg;
    wscore_config_default(&cfg);
    wscore_session_t *s = wscore_session_create(&cfg, 0);
    size_t messages = 0;
    for (auto _ : state) {
        size_t off = 0;
        while (off < stream.size()) {
            wscore_event_t ev;
            off += wscore_session_receive(s, stream.data() + off, stream.size() - off, 0, &ev);
            messages += ev.type == WSCORE_EVENT_MESSAGE;
        }
    }
    benchmark::DoNotOptimize(messages);
    wscore_session_destroy(s);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * frames));
}
BENCHMARK(receive_text_frames)->Arg(16)->Arg(1024)->Arg(64 * 1024);

void encode_frame_header(benchmark::State &state)
{
    uint8_t out[WSCORE_MAX_HEADER_LEN];
    uint64_t len = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(wscore_frame_header_encode(out, WSCORE_OP_TEXT, 1, 0, len));
        benchmark::ClobberMemory();
        len = (len + 977) & 0x3FFFF;  // cycles through all three length forms
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(encode_frame_header);

void validate_utf8(benchmark::State &state, const std::string &text)
{
    const std::span<const uint8_t> bytes{
        reinterpret_cast<const uint8_t *>(text.data()), text.size()};
    for (auto _ : state) {
        wscore::Utf8Validator v;
        benchmark::DoNotOptimize(v.feed(bytes));
        benchmark::DoNotOptimize(v.at_boundary());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK_CAPTURE(validate_utf8, ascii_64k, ascii_text(64 * 1024));
BENCHMARK_CAPTURE(validate_utf8, multibyte_64k, multibyte_text(64 * 1024));

// Stands in for the module's per-subscriber work (queue a shared frame).
void count_visit(void *subscriber, void *ctx)
{
    benchmark::DoNotOptimize(subscriber);
    ++*static_cast<size_t *>(ctx);
}

// One publish to a channel with range(0) local subscribers: the walk the
// module does per message per worker.
void router_fan_out(benchmark::State &state)
{
    const size_t n = static_cast<size_t>(state.range(0));
    wscore_router_t *r = wscore_router_create(nullptr);
    std::vector<int> sessions(n);
    for (int &s : sessions) wscore_router_subscribe(r, &s, "room:lobby", 10);
    size_t visited = 0;
    for (auto _ : state) {
        wscore_router_for_each(r, "room:lobby", 10, count_visit, &visited);
    }
    benchmark::DoNotOptimize(visited);
    wscore_router_destroy(r);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(router_fan_out)->Arg(100)->Arg(10'000);

// Subscribe + unsubscribe of one session on a busy channel (connect and
// disconnect churn next to 10,000 steady subscribers).
void router_churn(benchmark::State &state)
{
    wscore_router_t *r = wscore_router_create(nullptr);
    std::vector<int> sessions(10'000);
    for (int &s : sessions) wscore_router_subscribe(r, &s, "room:lobby", 10);
    int churner = 0;
    for (auto _ : state) {
        wscore_router_subscribe(r, &churner, "room:lobby", 10);
        wscore_router_unsubscribe(r, &churner, "room:lobby", 10);
    }
    wscore_router_destroy(r);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(router_churn);

// A typical publish request, through the C API (padded copy included).
void parse_publish_request(benchmark::State &state)
{
    const std::string json = R"({"op":"publish","channel":"room:lobby",)"
        R"("id":"req-1842","data":{"user":"ana","text":")"
        + ascii_text(static_cast<size_t>(state.range(0))) + R"("}})";
    wscore_ctl_request_t req;
    for (auto _ : state) {
        benchmark::DoNotOptimize(wscore_ctl_parse(json.data(), json.size(), &req));
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(parse_publish_request)->Arg(32)->Arg(4096);

}  // namespace
