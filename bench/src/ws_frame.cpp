#include "ws_frame.h"

#include <array>

namespace wsload {

std::string build_masked_frame(Opcode opcode, std::span<const std::uint8_t> payload) {
    // A fixed mask is enough here: masking exists to stop cache poisoning
    // through intermediaries, and this traffic stays on loopback. A non-zero
    // mask still makes the server do its real unmasking work.
    constexpr std::array<std::uint8_t, 4> mask{0x37, 0xfa, 0x21, 0x3d};

    std::string frame;
    frame.reserve(payload.size() + 14);
    frame.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));

    const std::uint64_t len = payload.size();
    if (len < 126) {
        frame.push_back(static_cast<char>(0x80 | len));
    } else if (len <= 0xffff) {
        frame.push_back(static_cast<char>(0x80 | 126));
        frame.push_back(static_cast<char>(len >> 8));
        frame.push_back(static_cast<char>(len & 0xff));
    } else {
        frame.push_back(static_cast<char>(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8) {
            frame.push_back(static_cast<char>((len >> shift) & 0xff));
        }
    }
    for (auto b : mask) frame.push_back(static_cast<char>(b));
    for (std::size_t i = 0; i < payload.size(); ++i) {
        frame.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    }
    return frame;
}

FrameParse parse_server_frame(std::span<const std::uint8_t> bytes) {
    FrameParse result;
    if (bytes.size() < 2) return result;

    const std::uint8_t b0 = bytes[0];
    const std::uint8_t b1 = bytes[1];
    if (b1 & 0x80) {
        result.status = FrameStatus::invalid;
        return result;
    }

    std::size_t header = 2;
    std::uint64_t len = b1 & 0x7f;
    if (len == 126) {
        if (bytes.size() < 4) return result;
        len = (std::uint64_t{bytes[2]} << 8) | bytes[3];
        header = 4;
    } else if (len == 127) {
        if (bytes.size() < 10) return result;
        len = 0;
        for (std::size_t i = 2; i < 10; ++i) len = (len << 8) | bytes[i];
        header = 10;
    }
    if (bytes.size() - header < len) return result;

    result.status = FrameStatus::complete;
    result.frame.fin = (b0 & 0x80) != 0;
    result.frame.rsv1 = (b0 & 0x40) != 0;
    result.frame.opcode = static_cast<Opcode>(b0 & 0x0f);
    result.frame.payload = bytes.subspan(header, static_cast<std::size_t>(len));
    result.frame.wire_size = header + static_cast<std::size_t>(len);
    return result;
}

}  // namespace wsload
