// The C ABI of the client side: a session that is the upstream's client,
// masked frames, the check of the server's handshake answer.

#include <cstdint>
#include <new>
#include <optional>
#include <string_view>

#include "c_api_session.hpp"
#include "client_handshake.hpp"
#include "frame_encoder.hpp"
#include "opcode.hpp"
#include "wscore.h"

namespace {

std::optional<std::string_view> present(const wscore_str_t &s) noexcept
{
    if (s.data == nullptr) {
        return std::nullopt;
    }
    return std::string_view{s.data, s.len};
}

}  // namespace

extern "C" {

void wscore_session_act_as_client(wscore_session_t *s,
    const wscore_mask_source_t *source)
{
    if (s != nullptr && source != nullptr && source->key != nullptr) {
        s->session.act_as_client(source);
    }
}

size_t wscore_client_frame_len(uint64_t payload_len)
{
    // Past this the sum wraps and a caller would allocate too little.
    if (payload_len > SIZE_MAX - WSCORE_MAX_CLIENT_HEADER_LEN) {
        return 0;
    }
    return wscore::client_frame_len(payload_len);
}

size_t wscore_client_frame_encode(uint8_t *out, wscore_opcode_e opcode,
    int fin, int rsv1, const uint8_t *payload, size_t len,
    const uint8_t key[4])
{
    const auto op = static_cast<std::uint8_t>(opcode);
    if (out == nullptr || key == nullptr || (payload == nullptr && len > 0)
        || len > SIZE_MAX - WSCORE_MAX_CLIENT_HEADER_LEN
        || !wscore::is_known_opcode(op)) {
        return 0;
    }
    // RFC 6455 section 5.5: a control frame is whole and at most 125 bytes;
    // the peer would fail the connection on anything else.
    if (wscore::is_control(static_cast<wscore::Opcode>(op))
        && (fin == 0 || len > 125)) {
        return 0;
    }
    const std::size_t total = wscore::client_frame_len(len);
    return wscore::encode_client_frame({out, total},
        static_cast<wscore::Opcode>(opcode), fin != 0, rsv1 != 0,
        {payload, len}, key);
}

wscore_rc_t wscore_handshake_check_response(
    const wscore_handshake_response_t *resp, const char *key,
    size_t key_len, wscore_str_t offered_protocols, const char **why)
{
    if (resp == nullptr || key == nullptr) {
        if (why != nullptr) {
            *why = "no response";
        }
        return WSCORE_ERROR;
    }
    wscore::HandshakeResponse r;
    r.status = resp->status;
    r.upgrade = present(resp->upgrade);
    r.connection = present(resp->connection);
    r.accept = present(resp->accept);
    r.protocol = present(resp->protocol);
    r.extensions = present(resp->extensions);
    const char *error = wscore::check_handshake_response(r,
        {key, key_len}, present(offered_protocols));
    if (why != nullptr) {
        *why = error;
    }
    return error == nullptr ? WSCORE_OK : WSCORE_ERROR;
}

wscore_rc_t wscore_handshake_check_response_deflate(
    const wscore_handshake_response_t *resp, const char *key,
    size_t key_len, wscore_str_t offered_protocols,
    wscore_deflate_params_t *params, int *agreed, const char **why)
{
    if (agreed != nullptr) {
        *agreed = 0;
    }
    if (resp == nullptr || key == nullptr || params == nullptr
        || agreed == nullptr) {
        if (why != nullptr) {
            *why = "no response";
        }
        return WSCORE_ERROR;
    }
    wscore::HandshakeResponse r;
    r.status = resp->status;
    r.upgrade = present(resp->upgrade);
    r.connection = present(resp->connection);
    r.accept = present(resp->accept);
    r.protocol = present(resp->protocol);
    r.extensions = present(resp->extensions);
    std::optional<wscore::DeflateParams> deflate;
    const char *error = wscore::check_handshake_response(r,
        {key, key_len}, present(offered_protocols), &deflate);
    if (why != nullptr) {
        *why = error;
    }
    if (error != nullptr) {
        return WSCORE_ERROR;
    }
    if (deflate) {
        *agreed = 1;
        params->server_max_window_bits = deflate->server_max_window_bits;
        params->client_max_window_bits = deflate->client_max_window_bits;
        params->server_no_context_takeover =
            deflate->server_no_context_takeover;
        params->client_no_context_takeover =
            deflate->client_no_context_takeover;
    }
    return WSCORE_OK;
}

}  // extern "C"
