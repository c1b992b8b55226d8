// Frame encoding, shortest length form: server-to-client headers (never
// masked), and whole client-to-server frames (always masked, RFC 6455
// section 5.3) for a session that is itself the client.

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

inline constexpr std::size_t max_client_header_len = 14;

// Bytes a masked frame of payload_len bytes takes on the wire.
std::size_t client_frame_len(std::uint64_t payload_len) noexcept;

// Writes header, key and the payload masked with key into out, which has
// room for client_frame_len(payload.size()) bytes; returns that length.
std::size_t encode_client_frame(std::span<std::uint8_t> out, Opcode opcode,
    bool fin, bool rsv1, std::span<const std::uint8_t> payload,
    const std::uint8_t key[4]) noexcept;

}  // namespace wscore

#endif
