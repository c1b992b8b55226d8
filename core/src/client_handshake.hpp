// The client side of the opening handshake (RFC 6455 section 4.1): what
// a server's answer must hold before the connection counts as a
// WebSocket. Used by the proxy, which is the upstream's client.

#ifndef WSCORE_CLIENT_HANDSHAKE_HPP
#define WSCORE_CLIENT_HANDSHAKE_HPP

#include <optional>
#include <string_view>

namespace wscore {

struct HandshakeResponse {
    int status = 0;                              // of the status line
    std::optional<std::string_view> upgrade;     // nullopt = header absent
    std::optional<std::string_view> connection;
    std::optional<std::string_view> accept;      // Sec-WebSocket-Accept
    std::optional<std::string_view> protocol;    // Sec-WebSocket-Protocol
    std::optional<std::string_view> extensions;  // Sec-WebSocket-Extensions
};

// nullptr when the answer completes the handshake for key (the
// Sec-WebSocket-Key we sent) and offered_protocols (the
// Sec-WebSocket-Protocol list we sent; nullopt = none); else why not,
// a static text for the log. We offer no extension, so an answer naming
// one fails (section 4.1, item 5 of the client's checks).
const char *check_handshake_response(const HandshakeResponse &response,
    std::string_view key, std::optional<std::string_view> offered_protocols)
    noexcept;

}  // namespace wscore

#endif
