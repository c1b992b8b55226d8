// Frame opcodes (RFC 6455 section 5.2), shared by the parser, the encoder
// and the session. The values match wscore_opcode_e.

#ifndef WSCORE_OPCODE_HPP
#define WSCORE_OPCODE_HPP

#include <cstdint>

namespace wscore {

enum class Opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

// Control opcodes are the ones with the high bit of the nibble set.
constexpr bool is_control(Opcode op) noexcept
{
    return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

constexpr bool is_known_opcode(std::uint8_t op) noexcept
{
    return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

}  // namespace wscore

#endif
