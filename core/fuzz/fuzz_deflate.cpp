// libFuzzer target for permessage-deflate: the inflate path of a session
// (arbitrary bytes as the compressed payload of client messages, split
// into fragments and messages by the input itself, under a small message
// limit) and the negotiation of arbitrary Sec-WebSocket-Extensions values,
// as a client's offer and as a server's answer to ours.
// Checks the session's invariants and that nothing inflates past the limit.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wscore.h"

namespace {

void check(bool ok)
{
    if (!ok) std::abort();
}

void append_frame(std::vector<uint8_t> &out, uint8_t first_byte,
    const uint8_t *payload, size_t len)
{
    static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
    out.push_back(first_byte);
    if (len < 126) {
        out.push_back(static_cast<uint8_t>(0x80 | len));
    } else {
        out.push_back(0x80 | 126);
        out.push_back(static_cast<uint8_t>(len >> 8));
        out.push_back(static_cast<uint8_t>(len));
    }
    out.insert(out.end(), key, key + 4);
    for (size_t i = 0; i < len; ++i) {
        out.push_back(static_cast<uint8_t>(payload[i] ^ key[i % 4]));
    }
}

void fuzz_negotiation(const uint8_t *data, size_t size, uint8_t control)
{
    wscore_deflate_policy_t policy;
    policy.server_max_window_bits = 9 + control % 7;
    policy.client_max_window_bits = 8 + (control >> 3) % 8;
    policy.server_no_context_takeover = (control >> 6) & 1;
    wscore_deflate_negotiation_t n;
    wscore_deflate_negotiate(&policy, reinterpret_cast<const char *>(data),
                             size, &n);
    check(n.reason != nullptr);
    if (n.outcome == WSCORE_DEFLATE_ACCEPTED) {
        check(n.answer_len > 0 && n.answer_len < WSCORE_DEFLATE_ANSWER_MAX);
        check(std::memcmp(n.answer, "permessage-deflate", 18) == 0);
        check(n.params.server_max_window_bits >= 9
              && n.params.server_max_window_bits
                 <= policy.server_max_window_bits);
        check(n.params.client_max_window_bits >= 8
              && n.params.client_max_window_bits <= 15);
    }

    // The same bytes as a server's answer to a client's offer.
    wscore_handshake_response_t resp;
    std::memset(&resp, 0, sizeof resp);
    resp.status = 101;
    resp.upgrade = {"websocket", 9};
    resp.connection = {"Upgrade", 7};
    resp.accept = {"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 28};
    resp.extensions = {reinterpret_cast<const char *>(data), size};
    wscore_deflate_params_t agreed;
    int ok = -1;
    const char *why = nullptr;
    const wscore_rc_t rc = wscore_handshake_check_response_deflate(&resp,
        "dGhlIHNhbXBsZSBub25jZQ==", 24, {nullptr, 0}, &agreed, &ok, &why);
    check((rc == WSCORE_OK) == (why == nullptr));
    if (rc == WSCORE_OK && ok == 1) {
        check(agreed.server_max_window_bits >= 8
              && agreed.server_max_window_bits <= 15);
        check(agreed.client_max_window_bits >= 9
              && agreed.client_max_window_bits <= 15);
    }
}

void fuzz_inflate(const uint8_t *data, size_t size, uint8_t control)
{
    wscore_config_t cfg;
    wscore_config_default(&cfg);
    cfg.max_message_size = 256 + (control & 0x0F) * 512;
    cfg.max_frame_size = 0;
    cfg.ping_interval_ms = 0;
    wscore_session_t *s = wscore_session_create(&cfg, 0);
    if (s == nullptr) return;
    wscore_deflate_params_t params;
    params.server_max_window_bits = 15;
    params.client_max_window_bits = 8 + (control >> 4) % 8;
    params.server_no_context_takeover = 0;
    params.client_no_context_takeover = (control >> 7) & 1;
    check(wscore_session_enable_deflate(s, &params) == WSCORE_OK);

    // Each piece: 1 byte (length 0..127, top bit = last frame of its
    // message) then that many payload bytes.
    std::vector<uint8_t> wire;
    bool in_message = false;
    size_t off = 0;
    while (off < size) {
        const uint8_t head = data[off++];
        size_t len = head & 0x7F;
        if (len > size - off) len = size - off;
        const bool fin = (head & 0x80) != 0;
        const uint8_t first = static_cast<uint8_t>((fin ? 0x80 : 0)
            | (in_message ? 0x00 : 0x40 | ((control & 1) ? 0x2 : 0x1)));
        append_frame(wire, first, data + off, len);
        off += len;
        in_message = !fin;
    }

    size_t used = 0;
    while (used < wire.size()) {
        wscore_event_t ev;
        used += wscore_session_receive(s, wire.data() + used,
                                       wire.size() - used, 0, &ev);
        if (ev.type == WSCORE_EVENT_MESSAGE) {
            check(ev.len <= cfg.max_message_size);
            check(ev.opcode == WSCORE_OP_TEXT ? wscore_utf8_valid(ev.data,
                ev.len) == 1 : ev.opcode == WSCORE_OP_BINARY);
            if (ev.len > 0) {
                volatile uint8_t sink = ev.data[0] ^ ev.data[ev.len - 1];
                (void) sink;
            }
        } else if (ev.type == WSCORE_EVENT_ERROR) {
            check(ev.close_code == 1002 || ev.close_code == 1007
                  || ev.close_code == 1009 || ev.close_code == 1011);
            check(wscore_session_state(s) == WSCORE_STATE_CLOSED);
        }
    }
    if (params.client_no_context_takeover && !wscore_session_in_message(s)
        && wscore_session_state(s) == WSCORE_STATE_OPEN) {
        // Between messages nothing of zlib is kept.
        check(wscore_session_inflater_memory(s) < 1024);
    }
    wscore_session_destroy(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    const uint8_t mode = data[0];
    const uint8_t control = data[1];
    if (mode & 1) {
        fuzz_negotiation(data + 2, size - 2, control);
    } else {
        fuzz_inflate(data + 2, size - 2, control);
    }
    return 0;
}
