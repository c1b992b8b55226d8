// Client-to-server payload unmasking (RFC 6455 section 5.3).

#ifndef WSCORE_UNMASK_HPP
#define WSCORE_UNMASK_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace wscore {

// The 4-byte masking key in wire order.
using MaskKey = std::array<std::uint8_t, 4>;

// XORs src with the key into dst (dst may be src; dst.size() >= src.size()).
// phase is the offset of src[0] within the frame payload modulo 4, so a
// payload that arrives in pieces unmasks exactly as one that arrives whole.
// Returns the phase for the next piece. Works 8 bytes at a time.
unsigned unmask_copy(std::span<std::uint8_t> dst,
    std::span<const std::uint8_t> src, MaskKey key, unsigned phase) noexcept;

}  // namespace wscore

#endif
