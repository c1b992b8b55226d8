// permessage-deflate negotiation, server side (RFC 7692 section 7.1).
//
// The client lists its offers in Sec-WebSocket-Extensions, most wanted
// first. The server takes the first permessage-deflate offer it can honour
// and declines the others by leaving them out of its answer. An offer is
// declined (not failed) when it has an unknown or repeated parameter, a
// bad value, or asks for something this server does not do; only a header
// that does not follow the extension-list grammar of RFC 6455 section 9.1
// fails the handshake.

#ifndef WSCORE_DEFLATE_OFFER_HPP
#define WSCORE_DEFLATE_OFFER_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wscore {

// What this server is willing to do.
struct DeflatePolicy {
    // The largest LZ77 window our compressor uses: 9..15. zlib cannot
    // compress with a 256-byte window (8), so an offer that insists on 8
    // is declined.
    std::uint8_t server_max_window_bits = 15;
    // The window we ask clients to stay within, when they let us (8..15):
    // only an offer that names client_max_window_bits may be answered with
    // one (section 7.1.2.2); other clients keep the 32 KiB window.
    std::uint8_t client_max_window_bits = 15;
    // Promise to compress every message on its own, even unasked. Lets the
    // server share one compressed frame between subscribers and keep no
    // compressor per connection.
    bool server_no_context_takeover = false;
};

// The parameters both sides agreed on.
struct DeflateParams {
    std::uint8_t server_max_window_bits = 15;  // our compressor's window
    std::uint8_t client_max_window_bits = 15;  // the client's compressor
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
};

inline constexpr std::size_t max_deflate_answer_len = 160;

struct DeflateNegotiation {
    enum class Outcome : std::uint8_t { declined, accepted, malformed };

    Outcome outcome = Outcome::declined;
    DeflateParams params;           // when accepted
    // The Sec-WebSocket-Extensions value to answer with (accepted).
    std::array<char, max_deflate_answer_len> answer = {};
    std::size_t answer_len = 0;
    const char *reason = "no permessage-deflate offer";  // static, for logs

    std::string_view answer_text() const noexcept
    {
        return {answer.data(), answer_len};
    }
};

// header: every Sec-WebSocket-Extensions value of the request, joined
// with ", ".
DeflateNegotiation negotiate_deflate(std::string_view header,
    const DeflatePolicy &policy) noexcept;

// The client side (section 7.1: what a client offers and how it checks
// the answer). A proxy offers exactly this: permessage-deflate, letting
// the server limit our window, and accepts any server window.
inline constexpr std::string_view client_deflate_offer =
    "permessage-deflate; client_max_window_bits";

struct DeflateAnswer {
    bool valid = false;
    DeflateParams params;                    // when valid
    const char *reason = "no answer";        // static, for logs
};

// answer: the server's Sec-WebSocket-Extensions to client_deflate_offer.
// Valid only as one permessage-deflate element whose parameters are each
// known, not repeated, well-formed and allowed in an answer to our offer
// (section 7.1: a client must fail the connection otherwise). An
// answered client_max_window_bits of 8 is refused too: zlib's raw
// deflate cannot compress within a 256-byte window.
DeflateAnswer check_deflate_answer(std::string_view answer) noexcept;

}  // namespace wscore

#endif
