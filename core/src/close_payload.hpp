// The payload of a close frame (RFC 6455 section 5.5.1): a 2-byte status
// code and a UTF-8 reason, or nothing at all.

#ifndef WSCORE_CLOSE_PAYLOAD_HPP
#define WSCORE_CLOSE_PAYLOAD_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace wscore {

// A close frame's payload fits a control frame: at most 125 bytes.
inline constexpr std::size_t max_close_payload = 125;
inline constexpr std::size_t max_close_reason = max_close_payload - 2;

// May a peer put this code on the wire? 1000-1003, 1007-1014 (the codes
// RFC 6455 and the IANA registry define for the protocol) and 3000-4999
// (libraries and applications). 1004-1006 and 1015 are reserved and must
// never be sent; everything else is unassigned.
bool is_valid_close_code(std::uint16_t code) noexcept;

// What a received close payload says, or why it is broken.
struct ReceivedClose {
    std::uint16_t code = 1005;             // 1005 = the peer sent no code
    std::span<const std::uint8_t> reason;  // valid UTF-8 when error == null
    const char *error = nullptr;           // static text for the log
    std::uint16_t error_close_code = 0;    // 1002 or 1007 when error is set
};

ReceivedClose parse_close_payload(std::span<const std::uint8_t> payload)
    noexcept;

// Writes code and reason into out and returns the payload length. The
// reason is cut to max_close_reason bytes at a code point boundary so the
// result stays valid UTF-8.
std::size_t encode_close_payload(std::uint16_t code, std::string_view reason,
    std::span<std::uint8_t, max_close_payload> out) noexcept;

}  // namespace wscore

#endif
