// libFuzzer target: arbitrary bytes into a session with small limits, fed
// in chunks whose sizes come from the input itself, with timer calls and
// output draining in between. Checks the session's own invariants. The
// session is a server's, or (second byte, bit 1) a client's, as a proxy's
// upstream link is: then every frame it writes must be masked. The same
// input goes through a second session with a payload sink (as an echo
// reads): events and output must be the same, byte for byte; and through a
// third that, as the module does, reads the rest of a frame's payload into
// the session's own window (wscore_session_receive_window) whenever there
// is one, in windows of varying size.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "wscore.h"

namespace {

void check(bool ok)
{
    if (!ok) std::abort();
}

void fixed_key(void *, uint8_t key[4])
{
    std::memcpy(key, "\x12\x34\x56\x78", 4);
}

// What a run reported, in order: events and the output it wrote.
struct Trace {
    std::string log;

    // Calls that report nothing are not logged: how many there are
    // depends on how the input was split, not on what it says.
    void event(const wscore_event_t &ev)
    {
        if (ev.type == WSCORE_EVENT_NONE) {
            return;
        }
        log += "E" + std::to_string(ev.type) + "/" + std::to_string(ev.opcode)
            + "/" + std::to_string(ev.close_code) + ":";
        if (ev.len > 0) {
            log.append(reinterpret_cast<const char *>(ev.data), ev.len);
        }
        log += ev.error != nullptr ? ev.error : "";
        log += ";";
    }
};

// A sink as the module's: one heap buffer per call, the caller's to free.
struct Sink {
    uint8_t *buffer = nullptr;

    static uint8_t *alloc(void *ctx, wscore_opcode_e, size_t len)
    {
        auto *self = static_cast<Sink *>(ctx);
        check(self->buffer == nullptr);  // at most once per call
        self->buffer = static_cast<uint8_t *>(std::malloc(len + 1));
        return self->buffer;
    }
};

void run(const uint8_t *data, size_t size, uint8_t control,
    bool server_closes, bool client_side, bool with_sink, bool with_window,
    Trace &trace)
{
    wscore_config_t cfg;
    wscore_config_default(&cfg);
    // from 16 bytes: small enough that a frame over it fits in one chunk,
    // as the sink's one-step path must refuse it there too
    cfg.max_frame_size = 16 + (control & 0x3F) * 16;
    cfg.max_message_size = cfg.max_frame_size * 3;
    cfg.ping_interval_ms = 100;
    cfg.ping_max_missed = 2;
    cfg.idle_timeout_ms = (control & 0x40) ? 300 : 0;
    cfg.close_timeout_ms = 50;

    uint64_t now = 1000;
    wscore_session_t *s = wscore_session_create(&cfg, now);
    struct {
        uint8_t *block = nullptr;
        std::string copy;
    } held;
    if (s == nullptr) std::abort();  // a few hundred bytes: not expected
    const wscore_mask_source_t source{fixed_key, nullptr};
    if (client_side) {
        wscore_session_act_as_client(s, &source);
    }
    bool frame_start = true;   // the output's next byte begins a frame

    size_t off = 0;
    unsigned chunk_seed = control | 1u;
    while (off < size) {
        // Chunk length: 1..160 from a tiny LCG seeded by the input (so a
        // frame with a 16-bit length can arrive whole).
        chunk_seed = chunk_seed * 1103515245u + 12345u;
        size_t n = 1 + (chunk_seed >> 16) % 160;
        if (n > size - off) n = size - off;

        size_t used_in_chunk = 0;
        while (used_in_chunk < n) {
            wscore_event_t ev;
            Sink sink;
            const wscore_payload_sink_t c_sink{&Sink::alloc, &sink};
            size_t room = 0;
            uint8_t *window = with_window
                ? wscore_session_receive_window(s,
                      1 + (chunk_seed >> 4) % 64, &room)
                : nullptr;
            size_t used;
            if (window != nullptr) {
                check(room > 0 && room <= 64);
                used = std::min(room, n - used_in_chunk);
                std::memcpy(window, data + off + used_in_chunk, used);
                wscore_session_received(s, used, now, &ev);
                check(ev.type == WSCORE_EVENT_NONE
                      || ev.type == WSCORE_EVENT_MESSAGE
                      || ev.type == WSCORE_EVENT_ERROR);
            } else {
                check(room == 0);
                used = wscore_session_receive_to(s,
                    data + off + used_in_chunk, n - used_in_chunk, now,
                    with_sink ? &c_sink : nullptr, &ev);
            }
            if (ev.placed) {
                check(with_sink && ev.data == sink.buffer);
            }
            // The one reassembled message the session held may be taken
            // (an echo's reply): it must stay as reported while the
            // session goes on, until the caller frees it.
            if (held.block != nullptr) {
                check(std::memcmp(held.block + WSCORE_MESSAGE_HEADROOM,
                                  held.copy.data(), held.copy.size()) == 0);
                wscore_message_free(held.block);
                held.block = nullptr;
            }
            if (with_sink && ev.type == WSCORE_EVENT_MESSAGE && !ev.placed) {
                held.block = wscore_session_take_message(s);
                check(held.block != nullptr || ev.len == 0);
                check(held.block == nullptr
                      || held.block + WSCORE_MESSAGE_HEADROOM == ev.data);
                held.copy.assign(ev.data, ev.data + ev.len);
            }
            trace.event(ev);
            check(used <= n - used_in_chunk);
            used_in_chunk += used;
            if (ev.type == WSCORE_EVENT_MESSAGE) {
                check(ev.len <= cfg.max_message_size);
                check(ev.opcode == WSCORE_OP_TEXT || ev.opcode == WSCORE_OP_BINARY);
                if (ev.len > 0) {
                    // Copying every byte lets ASan catch a stale pointer.
                    uint8_t *copy = static_cast<uint8_t *>(std::malloc(ev.len));
                    check(copy != nullptr);
                    std::memcpy(copy, ev.data, ev.len);
                    std::free(copy);
                }
            } else if (ev.type == WSCORE_EVENT_ERROR) {
                check(ev.error != nullptr);
                check(wscore_session_state(s) == WSCORE_STATE_CLOSED);
            } else if (ev.type == WSCORE_EVENT_CLOSE) {
                check(wscore_session_state(s) == WSCORE_STATE_CLOSED);
            } else if (ev.type == WSCORE_EVENT_NONE && window == nullptr) {
                check(used_in_chunk == n);
            }
            std::free(sink.buffer);  // placed or not, the caller's
        }
        off += n;

        now += (chunk_seed >> 8) % 80;
        const uint64_t deadline = wscore_session_next_deadline(s);
        if (deadline != 0 && now >= deadline) {
            wscore_session_on_timer(s, now);
        }
        if (server_closes && off > size / 2) {
            wscore_session_close(s, 1000, "fuzz", now);
        }
        const uint8_t *out;
        size_t out_len;
        wscore_session_output(s, &out, &out_len);
        if (out_len > 0) {
            check(out != nullptr);
            if (frame_start && out_len >= 2) {
                check(((out[1] & 0x80) != 0) == client_side);
            }
            const size_t taken = (chunk_seed & 1) ? out_len : out_len / 2;
            trace.log.append(reinterpret_cast<const char *>(out), taken);
            wscore_session_output_consumed(s, taken);
            frame_start = taken == out_len;
        }
    }
    wscore_message_free(held.block);
    wscore_session_destroy(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    // First byte: chunking seed and limits; second: close-early flag.
    const uint8_t control = data[0];
    const bool server_closes = (data[1] & 1) != 0;
    const bool client_side = (data[1] & 2) != 0;
    data += 2;
    size -= 2;

    Trace plain;
    Trace sunk;
    Trace in_place;
    run(data, size, control, server_closes, client_side, false, false, plain);
    run(data, size, control, server_closes, client_side, true, false, sunk);
    run(data, size, control, server_closes, client_side, true, true,
        in_place);
    check(plain.log == sunk.log);
    check(plain.log == in_place.log);
    return 0;
}
