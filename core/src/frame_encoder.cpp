#include "frame_encoder.hpp"

#include <cstring>

#include "unmask.hpp"

namespace wscore {

[[gnu::hot]]
std::size_t encode_frame_header(std::span<std::uint8_t, max_server_header_len>
    out, Opcode opcode, bool fin, bool rsv1, std::uint64_t payload_len)
    noexcept
{
    out[0] = static_cast<std::uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0)
                                       | static_cast<std::uint8_t>(opcode));
    if (payload_len < 126) {
        out[1] = static_cast<std::uint8_t>(payload_len);
        return 2;
    }
    if (payload_len <= 0xFFFF) {
        out[1] = 126;
        out[2] = static_cast<std::uint8_t>(payload_len >> 8);
        out[3] = static_cast<std::uint8_t>(payload_len);
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; ++i) {
        out[2 + i] = static_cast<std::uint8_t>(payload_len >> (56 - 8 * i));
    }
    return 10;
}

std::size_t client_frame_len(std::uint64_t payload_len) noexcept
{
    const std::size_t header = payload_len < 126 ? 2
                               : payload_len <= 0xFFFF ? 4 : 10;
    return header + 4 + static_cast<std::size_t>(payload_len);
}

std::size_t encode_client_frame(std::span<std::uint8_t> out, Opcode opcode,
    bool fin, bool rsv1, std::span<const std::uint8_t> payload,
    const std::uint8_t key[4]) noexcept
{
    std::uint8_t header[max_server_header_len];
    const std::size_t header_len = encode_frame_header(
        std::span<std::uint8_t, max_server_header_len>{header}, opcode, fin,
        rsv1, payload.size());
    header[1] |= 0x80;
    std::memcpy(out.data(), header, header_len);
    std::memcpy(out.data() + header_len, key, 4);
    MaskKey mask;
    std::memcpy(mask.data(), key, 4);
    // Masking is its own inverse: the same XOR that unmasks a client's
    // payload masks ours.
    unmask_copy(out.subspan(header_len + 4, payload.size()), payload, mask,
                0);
    return header_len + 4 + payload.size();
}

}  // namespace wscore
