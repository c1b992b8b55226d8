// Test helpers: build masked client frames byte by byte (independently of
// the encoder under test), feed input to a session in chosen splits and
// record the events in a comparable form.

#ifndef WSCORE_TESTS_CLIENT_FRAMES_HPP
#define WSCORE_TESTS_CLIENT_FRAMES_HPP

#include <cstdint>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "byte_printing.hpp"
#include "session.hpp"
#include "wscore.h"

namespace wscore::test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes bytes(std::string_view s)
{
    return Bytes(s.begin(), s.end());
}

inline Bytes concat(std::initializer_list<Bytes> parts)
{
    Bytes out;
    for (const Bytes &p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

enum class LengthForm { minimal, force16, force64 };

struct FrameSpec {
    bool fin = true;
    bool masked = true;
    std::uint8_t rsv = 0;  // bits 0x4 (RSV1), 0x2 (RSV2), 0x1 (RSV3)
    std::uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    LengthForm form = LengthForm::minimal;
};

inline Bytes client_frame(std::uint8_t opcode, const Bytes &payload,
    FrameSpec spec = {})
{
    Bytes f;
    f.push_back(static_cast<std::uint8_t>((spec.fin ? 0x80 : 0)
        | (spec.rsv << 4) | opcode));
    const std::uint8_t mask_bit = spec.masked ? 0x80 : 0;
    const std::uint64_t n = payload.size();
    LengthForm form = spec.form;
    if (form == LengthForm::minimal) {
        form = n < 126 ? LengthForm::minimal
             : n <= 0xFFFF ? LengthForm::force16 : LengthForm::force64;
    }
    if (form == LengthForm::minimal) {
        f.push_back(static_cast<std::uint8_t>(mask_bit | n));
    } else if (form == LengthForm::force16) {
        f.push_back(mask_bit | 126);
        f.push_back(static_cast<std::uint8_t>(n >> 8));
        f.push_back(static_cast<std::uint8_t>(n));
    } else {
        f.push_back(mask_bit | 127);
        for (int i = 7; i >= 0; --i) f.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
    }
    if (spec.masked) f.insert(f.end(), spec.key, spec.key + 4);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        f.push_back(spec.masked ? payload[i] ^ spec.key[i % 4] : payload[i]);
    }
    return f;
}

inline Bytes text(std::string_view s, FrameSpec spec = {})
{
    return client_frame(0x1, bytes(s), spec);
}

inline Bytes close_frame(std::uint16_t code, std::string_view reason = {})
{
    Bytes p{static_cast<std::uint8_t>(code >> 8),
            static_cast<std::uint8_t>(code)};
    p.insert(p.end(), reason.begin(), reason.end());
    return client_frame(0x8, p);
}

// A header that announces payload_len bytes, with no payload following.
inline Bytes header_only(std::uint8_t opcode, std::uint64_t payload_len,
    bool fin = true)
{
    Bytes f{static_cast<std::uint8_t>((fin ? 0x80 : 0) | opcode)};
    if (payload_len < 126) {
        f.push_back(static_cast<std::uint8_t>(0x80 | payload_len));
    } else if (payload_len <= 0xFFFF) {
        f.push_back(0x80 | 126);
        f.push_back(static_cast<std::uint8_t>(payload_len >> 8));
        f.push_back(static_cast<std::uint8_t>(payload_len));
    } else {
        f.push_back(0x80 | 127);
        for (int i = 7; i >= 0; --i) f.push_back(static_cast<std::uint8_t>(payload_len >> (8 * i)));
    }
    f.insert(f.end(), {1, 2, 3, 4});
    return f;
}

struct Recorded {
    wscore_event_type_e type = WSCORE_EVENT_NONE;
    int opcode = 0;
    std::string data;
    int close_code = 0;
    std::string error;

    bool operator==(const Recorded &) const = default;
};

inline std::ostream &operator<<(std::ostream &os, const Recorded &r)
{
    static const char *names[] = {"NONE", "MESSAGE", "PING", "PONG", "CLOSE",
                                  "ERROR", "FRAGMENT"};
    return os << names[r.type] << "(op=" << r.opcode << " len="
              << r.data.size() << " code=" << r.close_code << " err='"
              << r.error << "')";
}

inline Recorded record(const wscore_event_t &ev)
{
    Recorded r;
    r.type = ev.type;
    if (ev.type == WSCORE_EVENT_MESSAGE) r.opcode = ev.opcode;
    if (ev.len > 0) r.data.assign(reinterpret_cast<const char *>(ev.data), ev.len);
    if (ev.type == WSCORE_EVENT_CLOSE || ev.type == WSCORE_EVENT_ERROR) {
        r.close_code = ev.close_code;
    }
    if (ev.type == WSCORE_EVENT_ERROR) r.error = ev.error;
    return r;
}

// Feeds one chunk completely, recording every event.
inline void feed_chunk(Session &s, std::span<const std::uint8_t> chunk,
    std::uint64_t now, std::vector<Recorded> &events)
{
    std::size_t off = 0;
    do {
        wscore_event_t ev;
        const std::size_t used = s.receive(chunk.subspan(off), now, ev);
        off += used;
        if (ev.type != WSCORE_EVENT_NONE) {
            events.push_back(record(ev));
        } else if (used == 0) {
            break;  // guard against a stuck parser; the tests then fail
        }
    } while (off < chunk.size());
}

// Split strategies: 0 = whole, 1 = byte at a time, else a seeded random
// split with chunks of 1..split bytes.
struct Run {
    std::vector<Recorded> events;
    std::string output;
    wscore_state_e state;
};

/*
 * How much of the input the next receive call gets: all that is left
 * (split 0), one byte (split 1), or 1..split bytes at random, so every
 * parser state meets a buffer boundary somewhere.
 */
inline std::size_t next_chunk_size(std::size_t left, unsigned split,
    std::mt19937 &rng)
{
    if (split == 1) {
        return 1;
    }

    if (split > 1) {
        return std::min<std::size_t>(left,
            std::uniform_int_distribution<std::size_t>(1, split)(rng));
    }

    return left;
}

inline Run feed(const wscore_config_t &cfg, const Bytes &input,
    unsigned split, unsigned seed = 1)
{
    Session s(cfg, 0);
    Run run;
    std::mt19937 rng(seed);
    std::size_t off = 0;
    while (off < input.size()) {
        const std::size_t n = next_chunk_size(input.size() - off, split, rng);
        feed_chunk(s, std::span(input).subspan(off, n), 0, run.events);
        off += n;
    }
    const auto out = s.output();
    run.output.assign(out.begin(), out.end());
    run.state = s.state();
    return run;
}

inline wscore_config_t test_config()
{
    wscore_config_t cfg;
    cfg.max_frame_size = 1 << 20;
    cfg.max_message_size = 1 << 20;
    cfg.ping_interval_ms = 0;
    cfg.ping_max_missed = 3;
    cfg.idle_timeout_ms = 0;
    cfg.close_timeout_ms = 5000;
    return cfg;
}

}  // namespace wscore::test

#endif
