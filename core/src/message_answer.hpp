// What a message hook's answer means: the HTTP status of the backend's
// answer mapped to what happens to the client's message (nchan's
// publisher upstream idiom: 304 keep, 204 drop, a body replaces), and the
// text of the answer's headers that need a rule of their own. No HTTP
// here: the glue reads the status and the headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace wscore {

enum class MessageVerdict {
    drop,      // 204, or a 2xx without a body: the message goes nowhere
    keep,      // 304: the original message goes its usual way
    replace,   // a 2xx with a body: the body goes instead of the message
    refuse,    // 4xx: the message is refused, the body (if any) says why
    fail       // 5xx, and anything a backend should not answer (1xx, 3xx)
};

MessageVerdict message_verdict(unsigned status, std::size_t body_len)
    noexcept;

// "WS-Opcode: text" or "binary" (case-insensitive): 0x1 or 0x2, nullopt
// for anything else.
std::optional<std::uint8_t> parse_answer_opcode(std::string_view value)
    noexcept;

struct CloseRequest {
    std::uint16_t code = 0;
    std::string_view reason;   // valid UTF-8, at most 123 bytes
};

// "WS-Close: <code> [reason]": a code a server may send (a valid close
// code, not the client-only 1010), then optional whitespace and a reason,
// cut to what fits a close frame at a code point boundary. nullopt when
// the code is missing or not one to send.
std::optional<CloseRequest> parse_close_request(std::string_view value)
    noexcept;

// The longest start of text that is valid UTF-8 and at most max bytes: a
// refusal's body as a close reason, whatever the backend put in it.
std::string_view utf8_prefix(std::string_view text, std::size_t max)
    noexcept;

}  // namespace wscore
