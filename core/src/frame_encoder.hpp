// Server-to-client frame headers: never masked, shortest length form.

#ifndef WSCORE_FRAME_ENCODER_HPP
#define WSCORE_FRAME_ENCODER_HPP

#include <cstddef>
#include <cstdint>
#include <span>

#include "opcode.hpp"

namespace wscore {

inline constexpr std::size_t max_server_header_len = 10;

// Writes the header into out and returns its length (2, 4 or 10).
std::size_t encode_frame_header(std::span<std::uint8_t, max_server_header_len>
    out, Opcode opcode, bool fin, bool rsv1, std::uint64_t payload_len)
    noexcept;

}  // namespace wscore

#endif
