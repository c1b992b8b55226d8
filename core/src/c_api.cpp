// The extern "C" face of the core (wscore.h). Each entry point converts
// between C and C++ types and makes sure no exception crosses the ABI:
// the core itself does not throw, the try blocks are the last line.

#include "wscore.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string_view>
#include <type_traits>

#include "frame_encoder.hpp"
#include "handshake.hpp"
#include "opcode.hpp"
#include "c_api_session.hpp"
#include "utf8_validator.hpp"

// The C enum and the C++ one are cast into each other at this boundary.
static_assert(WSCORE_OP_CONTINUATION
              == static_cast<int>(wscore::Opcode::continuation));
static_assert(WSCORE_OP_TEXT == static_cast<int>(wscore::Opcode::text));
static_assert(WSCORE_OP_BINARY == static_cast<int>(wscore::Opcode::binary));
static_assert(WSCORE_OP_CLOSE == static_cast<int>(wscore::Opcode::close));
static_assert(WSCORE_OP_PING == static_cast<int>(wscore::Opcode::ping));
static_assert(WSCORE_OP_PONG == static_cast<int>(wscore::Opcode::pong));


namespace {

std::optional<std::string_view> header_value(const wscore_str_t &s) noexcept
{
    if (s.data == nullptr) {
        return std::nullopt;
    }
    return std::string_view{s.data, s.len};
}

wscore::HandshakeRequest to_request(const wscore_handshake_request_t &req)
    noexcept
{
    wscore::HandshakeRequest r;
    r.method = header_value(req.method).value_or(std::string_view{});
    r.http_major = req.http_major;
    r.http_minor = req.http_minor;
    r.host = header_value(req.host);
    r.upgrade = header_value(req.upgrade);
    r.connection = header_value(req.connection);
    r.version = header_value(req.version);
    r.key = header_value(req.key);
    return r;
}

}  // namespace

extern "C" {

void wscore_handshake_validate(const wscore_handshake_request_t *req,
    wscore_handshake_result_t *result)
{
    if (result == nullptr) {
        return;
    }
    std::memset(result, 0, sizeof *result);
    if (req == nullptr) {
        result->status = 400;
        result->reason = "no request";
        return;
    }
    try {
        const wscore::HandshakeVerdict verdict =
            wscore::validate_handshake(to_request(*req));
        result->status = verdict.status;
        result->reason = verdict.reason;
        if (verdict.status == 0) {
            std::memcpy(result->accept, verdict.accept.data(),
                        sizeof result->accept);
        }
    } catch (...) {
        result->status = 500;
        result->reason = "internal error";
    }
}

int wscore_handshake_is_upgrade(const wscore_handshake_request_t *req)
{
    return req != nullptr && wscore::is_websocket_upgrade(to_request(*req));
}

int wscore_utf8_valid(const uint8_t *data, size_t len)
{
    if (len == 0) {
        return 1;
    }
    return wscore::is_valid_utf8({data, len}) ? 1 : 0;
}

[[gnu::hot]]
size_t wscore_frame_header_encode(uint8_t *out, wscore_opcode_e opcode,
    int fin, int rsv1, uint64_t payload_len)
{
    return wscore::encode_frame_header(
        std::span<uint8_t, wscore::max_server_header_len>{
            out, wscore::max_server_header_len},
        static_cast<wscore::Opcode>(opcode), fin != 0, rsv1 != 0,
        payload_len);
}

void wscore_config_default(wscore_config_t *cfg)
{
    if (cfg == nullptr) {
        return;
    }
    cfg->max_frame_size = 1024 * 1024;
    cfg->max_message_size = 1024 * 1024;
    cfg->ping_interval_ms = 30 * 1000;
    cfg->ping_max_missed = 3;
    cfg->idle_timeout_ms = 0;
    cfg->close_timeout_ms = 5 * 1000;
}

wscore_session_t *wscore_session_create(const wscore_config_t *cfg,
    uint64_t now_ms)
{
    try {
        wscore_config_t defaults;
        if (cfg == nullptr) {
            wscore_config_default(&defaults);
            cfg = &defaults;
        }
        return new (std::nothrow) wscore_session_s(*cfg, now_ms);
    } catch (...) {
        return nullptr;
    }
}

void wscore_session_destroy(wscore_session_t *s)
{
    delete s;
}

static_assert(alignof(wscore_session_s) <= WSCORE_SESSION_ALIGN);
static_assert(std::is_nothrow_constructible_v<wscore_session_s,
    const wscore_config_t &, uint64_t>);

size_t wscore_session_size(void)
{
    return sizeof(wscore_session_s);
}

wscore_session_t *wscore_session_create_in(void *mem,
    const wscore_config_t *cfg, uint64_t now_ms)
{
    wscore_config_t defaults;
    if (cfg == nullptr) {
        wscore_config_default(&defaults);
        cfg = &defaults;
    }
    return new (mem) wscore_session_s(*cfg, now_ms);
}

void wscore_session_destroy_in(wscore_session_t *s)
{
    s->~wscore_session_s();
}

static_assert(WSCORE_MESSAGE_HEADROOM == wscore::ByteBuffer::headroom);

uint8_t *wscore_session_take_message(wscore_session_t *s)
{
    return s->session.take_message();
}

void wscore_message_free(uint8_t *block)
{
    std::free(block);
}

uint8_t *wscore_session_receive_window(wscore_session_t *s, size_t max,
    size_t *len)
{
    const std::span<std::uint8_t> window = s->session.receive_window(max);
    *len = window.size();
    return window.empty() ? nullptr : window.data();
}

[[gnu::hot]]
void wscore_session_received(wscore_session_t *s, size_t n, uint64_t now_ms,
    wscore_event_t *ev)
{
    wscore_event_t ignored;
    s->session.received(n, now_ms, ev != nullptr ? *ev : ignored);
}

size_t wscore_session_receive(wscore_session_t *s, const uint8_t *data,
    size_t len, uint64_t now_ms, wscore_event_t *ev)
{
    return wscore_session_receive_to(s, data, len, now_ms, nullptr, ev);
}

[[gnu::hot]]
size_t wscore_session_receive_to(wscore_session_t *s, const uint8_t *data,
    size_t len, uint64_t now_ms, const wscore_payload_sink_t *sink,
    wscore_event_t *ev)
{
    wscore_event_t ignored;
    wscore_event_t &out = ev != nullptr ? *ev : ignored;
    if (data == nullptr) {
        len = 0;
    }
    try {
        return s->session.receive({data, len}, now_ms, out, sink);
    } catch (...) {
        out = wscore_event_t{};
        out.type = WSCORE_EVENT_ERROR;
        out.close_code = WSCORE_CLOSE_INTERNAL_ERROR;
        out.error = "internal error";
        return len;
    }
}

void wscore_session_output(wscore_session_t *s, const uint8_t **data,
    size_t *len)
{
    const std::span<const uint8_t> out = s->session.output();
    *data = out.data();
    *len = out.size();
}

void wscore_session_output_consumed(wscore_session_t *s, size_t n)
{
    s->session.output_consumed(n);
}

void wscore_session_close(wscore_session_t *s, uint16_t code,
    const char *reason, uint64_t now_ms)
{
    s->session.close(code,
        reason != nullptr ? std::string_view{reason} : std::string_view{},
        now_ms);
}

[[gnu::hot]]
wscore_state_e wscore_session_state(const wscore_session_t *s)
{
    return s->session.state();
}

uint16_t wscore_session_close_code(const wscore_session_t *s)
{
    return s->session.close_code();
}

void wscore_session_answer_close_later(wscore_session_t *s, int on)
{
    s->session.answer_close_later(on != 0);
}

int wscore_session_close_pending(const wscore_session_t *s)
{
    return s->session.close_pending() ? 1 : 0;
}

void wscore_session_stream_messages(wscore_session_t *s, int on)
{
    s->session.stream_messages(on != 0);
}

int wscore_session_in_message(const wscore_session_t *s)
{
    return s->session.in_message() ? 1 : 0;
}

uint64_t wscore_session_next_deadline(const wscore_session_t *s)
{
    return s->session.next_deadline();
}

wscore_timer_result_e wscore_session_on_timer(wscore_session_t *s,
    uint64_t now_ms)
{
    return s->session.on_timer(now_ms);
}

wscore_rc_t wscore_session_enable_deflate(wscore_session_t *s,
    const wscore_deflate_params_t *params)
{
    if (params == nullptr) {
        return WSCORE_ERROR;
    }
    wscore::DeflateParams p;
    p.server_max_window_bits =
        static_cast<std::uint8_t>(params->server_max_window_bits);
    p.client_max_window_bits =
        static_cast<std::uint8_t>(params->client_max_window_bits);
    p.server_no_context_takeover = params->server_no_context_takeover != 0;
    p.client_no_context_takeover = params->client_no_context_takeover != 0;
    return s->session.enable_deflate(p) ? WSCORE_OK : WSCORE_NOMEM;
}

size_t wscore_session_inflater_memory(const wscore_session_t *s)
{
    return s->session.inflater_memory();
}

}  // extern "C"
