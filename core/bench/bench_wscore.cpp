// Throughput of the receive path (header parse + unmask + UTF-8 check +
// reassembly) through the C API, frame header encoding, the UTF-8
// validator alone, the channel router's fan-out and churn, the control
// protocol's request parser, and permessage-deflate: compression cost and
// bytes saved per chat message, inflating on receive, and a channel
// fan-out compressed once versus once per subscriber.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
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
void count_visit(void *ctx, void *subscriber)
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
    wscore_ctl_parser_t *parser = wscore_ctl_parser_create();
    wscore_ctl_request_t req;
    for (auto _ : state) {
        benchmark::DoNotOptimize(wscore_ctl_parse(parser, json.data(),
                                                  json.size(), &req));
    }
    wscore_ctl_parser_destroy(parser);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(parse_publish_request)->Arg(32)->Arg(4096);

// Chat traffic as a JSON feed carries it: envelopes of varied users,
// rooms and sentences, 150-300 bytes each; 256 of them, cycled.
std::vector<std::string> chat_messages()
{
    static const char *users[] = {"ana", "bruno", "chen", "dmitri", "eve",
                                  "fatima", "gus", "hiro"};
    static const char *words[] = {"hello", "everyone", "the", "deploy",
        "is", "done", "did", "you", "see", "latest", "numbers", "from",
        "staging", "lunch", "at", "noon", "meeting", "moved", "to",
        "tomorrow", "thanks", "great", "work", "on", "release", "ticket",
        "review", "please", "merged", "build", "green", "again"};
    std::mt19937 rng(42);
    std::vector<std::string> out;
    for (int i = 0; i < 256; ++i) {
        std::string text;
        const int n = 6 + static_cast<int>(rng() % 20);
        for (int w = 0; w < n; ++w) {
            if (w) text += ' ';
            text += words[rng() % (sizeof words / sizeof *words)];
        }
        out.push_back(R"({"op":"message","channel":"room:)"
            + std::to_string(rng() % 4) + R"(","seq":)"
            + std::to_string(100000 + i) + R"(,"data":{"user":")"
            + users[rng() % 8] + R"(","text":")" + text
            + R"(","ts":)" + std::to_string(1700000000 + i * 7) + "}}");
    }
    return out;
}

// Compression cost per message and the bytes it saves. Arg 0: context
// takeover (one compressor per connection); 1: no context takeover (the
// shared compressor). Level 1, memLevel 8, window 15: the defaults.
void deflate_chat_message(benchmark::State &state)
{
    const bool takeover = state.range(0) == 0;
    const std::vector<std::string> messages = chat_messages();
    wscore_deflater_t *d = wscore_deflater_create(15, 1, 8, takeover);
    size_t i = 0;
    uint64_t in_bytes = 0;
    uint64_t out_bytes = 0;
    for (auto _ : state) {
        const std::string &m = messages[i++ % messages.size()];
        const uint8_t *out;
        size_t out_len;
        wscore_deflater_compress(d, reinterpret_cast<const uint8_t *>(
            m.data()), m.size(), &out, &out_len);
        benchmark::DoNotOptimize(out);
        in_bytes += m.size();
        out_bytes += out_len;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(in_bytes));
    state.counters["bytes_in_per_msg"] =
        static_cast<double>(in_bytes) / static_cast<double>(state.iterations());
    state.counters["bytes_out_per_msg"] =
        static_cast<double>(out_bytes) / static_cast<double>(state.iterations());
    state.counters["saved_pct"] = 100.0 * (1.0 - static_cast<double>(out_bytes)
                                           / static_cast<double>(in_bytes));
    state.counters["zlib_bytes"] = static_cast<double>(wscore_deflater_memory(d));
    wscore_deflater_destroy(d);
}
BENCHMARK(deflate_chat_message)->Arg(0)->Arg(1);

// The receive side: compressed chat messages (as a browser sends them,
// context takeover) through a session with deflate agreed.
void inflate_chat_messages(benchmark::State &state)
{
    const std::vector<std::string> messages = chat_messages();
    wscore_deflater_t *d = wscore_deflater_create(15, 6, 8, 1);
    std::vector<uint8_t> wire;
    for (const std::string &m : messages) {
        const uint8_t *out;
        size_t out_len;
        wscore_deflater_compress(d, reinterpret_cast<const uint8_t *>(
            m.data()), m.size(), &out, &out_len);
        std::vector<uint8_t> frame = masked_text_frame(
            std::string(reinterpret_cast<const char *>(out), out_len));
        frame[0] |= 0x40;  // RSV1: compressed
        wire.insert(wire.end(), frame.begin(), frame.end());
    }
    wscore_deflater_destroy(d);
    wscore_deflate_params_t params = {15, 15, 0, 0};
    for (auto _ : state) {
        state.PauseTiming();
        wscore_session_t *s = wscore_session_create(nullptr, 0);
        wscore_session_enable_deflate(s, &params);
        state.ResumeTiming();
        size_t used = 0;
        while (used < wire.size()) {
            wscore_event_t ev;
            used += wscore_session_receive(s, wire.data() + used,
                                           wire.size() - used, 0, &ev);
            benchmark::DoNotOptimize(ev);
        }
        state.PauseTiming();
        wscore_session_destroy(s);
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()
                                                 * messages.size()));
}
BENCHMARK(inflate_chat_messages);

// One channel message to N deflate subscribers: compressed once and
// shared (no context takeover), or once per subscriber (each with its own
// context). Items are deliveries per second.
void deflate_fan_out(benchmark::State &state)
{
    const bool shared = state.range(0) == 1;
    const size_t subscribers = static_cast<size_t>(state.range(1));
    const std::vector<std::string> messages = chat_messages();
    std::vector<wscore_deflater_t *> own;
    wscore_deflater_t *one = wscore_deflater_create(15, 1, 8, 0);
    if (!shared) {
        for (size_t i = 0; i < subscribers; ++i) {
            own.push_back(wscore_deflater_create(15, 1, 8, 1));
        }
    }
    size_t i = 0;
    for (auto _ : state) {
        const std::string &m = messages[i++ % messages.size()];
        const uint8_t *out;
        size_t out_len;
        if (shared) {
            wscore_deflater_compress(one, reinterpret_cast<const uint8_t *>(
                m.data()), m.size(), &out, &out_len);
            benchmark::DoNotOptimize(out);
        } else {
            for (wscore_deflater_t *d : own) {
                wscore_deflater_compress(d, reinterpret_cast<const uint8_t *>(
                    m.data()), m.size(), &out, &out_len);
                benchmark::DoNotOptimize(out);
            }
        }
    }
    size_t memory = wscore_deflater_memory(one);
    for (wscore_deflater_t *d : own) {
        memory += wscore_deflater_memory(d);
        wscore_deflater_destroy(d);
    }
    wscore_deflater_destroy(one);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()
                                                 * subscribers));
    state.counters["zlib_bytes"] = static_cast<double>(memory);
}
BENCHMARK(deflate_fan_out)->Args({1, 1000})->Args({0, 1000});

}  // namespace
