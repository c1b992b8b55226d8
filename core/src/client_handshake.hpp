// The client side of the opening handshake (RFC 6455 section 4.1): what
// a server's answer must hold before the connection counts as a
// WebSocket. Used by the proxy, which is the upstream's client.

#ifndef WSCORE_CLIENT_HANDSHAKE_HPP
#define WSCORE_CLIENT_HANDSHAKE_HPP

#include <optional>
#include <string_view>

#include "deflate_offer.hpp"

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
// a static text for the log. An extension in the answer fails it (section
// 4.1, item 5 of the client's checks) unless deflate is non-null: then we
// offered client_deflate_offer, and an answer naming an extension must be
// a valid agreement to it, which *deflate then holds (nullopt: the server
// declined, no extension).
const char *check_handshake_response(const HandshakeResponse &response,
    std::string_view key, std::optional<std::string_view> offered_protocols,
    std::optional<DeflateParams> *deflate = nullptr) noexcept;

}  // namespace wscore

#endif
