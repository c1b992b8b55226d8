// The server side of the opening handshake (RFC 6455 section 4.2.1):
// request validation and the Sec-WebSocket-Accept value.

#ifndef WSCORE_HANDSHAKE_HPP
#define WSCORE_HANDSHAKE_HPP

#include <array>
#include <optional>
#include <string_view>

namespace wscore {

struct HandshakeRequest {
    std::string_view method;
    unsigned http_major = 1;
    unsigned http_minor = 1;
    std::optional<std::string_view> host;        // nullopt = header absent
    std::optional<std::string_view> upgrade;
    std::optional<std::string_view> connection;
    std::optional<std::string_view> version;     // Sec-WebSocket-Version
    std::optional<std::string_view> key;         // Sec-WebSocket-Key
};

inline constexpr std::size_t accept_len = 28;   // base64 of a SHA-1
using AcceptValue = std::array<char, accept_len + 1>;  // NUL-terminated

struct HandshakeVerdict {
    int status = 0;                  // 0 = valid; else 400, 405 or 426
    const char *reason = "ok";       // static text for the log
    AcceptValue accept = {};         // set when status == 0
};

HandshakeVerdict validate_handshake(const HandshakeRequest &req) noexcept;

// Does the Upgrade header list the "websocket" token?
bool is_websocket_upgrade(const HandshakeRequest &req) noexcept;

// Does a comma-separated header value hold token (case-insensitive)?
bool header_has_token(std::string_view list, std::string_view token) noexcept;

// base64(SHA-1(key + GUID)); false only if the crypto library fails.
bool compute_accept(std::string_view key, AcceptValue &out) noexcept;

}  // namespace wscore

#endif
