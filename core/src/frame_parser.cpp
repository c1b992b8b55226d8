#include "frame_parser.hpp"

#include <algorithm>
#include <cstring>

#include "unmask.hpp"

namespace wscore {

namespace {

const char *unknown_opcode_error(std::uint8_t op) noexcept
{
    static constexpr const char *text[16] = {
        nullptr, nullptr, nullptr,
        "unknown opcode 0x3", "unknown opcode 0x4", "unknown opcode 0x5",
        "unknown opcode 0x6", "unknown opcode 0x7",
        nullptr, nullptr, nullptr,
        "unknown opcode 0xB", "unknown opcode 0xC", "unknown opcode 0xD",
        "unknown opcode 0xE", "unknown opcode 0xF",
    };
    return text[op & 0x0F];
}

}  // namespace

std::size_t FrameParser::header_len() const noexcept
{
    // Only called once the second byte is in. Client frames are always
    // masked (checked before this matters), hence the 4 key bytes.
    const std::uint8_t len7 = header_[1] & 0x7F;
    const std::size_t extended = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    return 2 + extended + 4;
}

const char *FrameParser::check_first_two_bytes(bool rsv1_allowed) const
    noexcept
{
    const std::uint8_t b0 = header_[0];
    const std::uint8_t b1 = header_[1];
    const std::uint8_t reserved = rsv1_allowed ? 0x30 : 0x70;
    if ((b0 & reserved) != 0) {
        return "reserved bits set";
    }
    const std::uint8_t op = b0 & 0x0F;
    if (!is_known_opcode(op)) {
        return unknown_opcode_error(op);
    }
    if (is_control(static_cast<Opcode>(op))) {
        if ((b0 & 0x80) == 0) {
            return "fragmented control frame";
        }
        if ((b1 & 0x7F) > 125) {
            return "control frame payload > 125";
        }
        if ((b0 & 0x40) != 0) {
            return "reserved bits set";  // compression never applies here
        }
    }
    if ((b1 & 0x80) == 0) {
        return "unmasked client frame";
    }
    return nullptr;
}

const char *FrameParser::decode_length() noexcept
{
    const std::uint8_t len7 = header_[1] & 0x7F;
    if (len7 < 126) {
        remaining_ = len7;
        return nullptr;
    }
    // RFC 6455 section 5.2: "the minimal number of bytes MUST be used to
    // encode the length". We enforce it: a peer that pads lengths is
    // either broken or probing parsers, and being strict costs nothing.
    if (len7 == 126) {
        remaining_ = std::uint64_t{header_[2]} << 8 | header_[3];
        return remaining_ < 126 ? "non-minimal length encoding" : nullptr;
    }
    if ((header_[2] & 0x80) != 0) {
        return "frame length with MSB set";
    }
    std::uint64_t len = 0;
    for (int i = 2; i < 10; ++i) {
        len = len << 8 | header_[i];
    }
    remaining_ = len;
    return len <= 0xFFFF ? "non-minimal length encoding" : nullptr;
}

FrameParser::HeaderStep FrameParser::parse_header(
    std::span<const std::uint8_t> in, bool rsv1_allowed) noexcept
{
    HeaderStep step;
    for (;;) {
        const std::size_t needed = filled_ < 2 ? 2 : header_len();
        const std::size_t take =
            std::min(needed - filled_, in.size() - step.consumed);
        std::memcpy(header_ + filled_, in.data() + step.consumed, take);
        const bool reached_two = filled_ < 2 && filled_ + take == 2;
        filled_ = static_cast<std::uint8_t>(filled_ + take);
        step.consumed += take;
        if (filled_ < needed) {
            return step;  // need_more
        }
        if (reached_two) {
            // The first two bytes decide most rules: fail before waiting
            // for the rest of the header.
            if (const char *error = check_first_two_bytes(rsv1_allowed)) {
                step.status = Status::error;
                step.error = error;
                return step;
            }
            continue;
        }
        if (const char *error = decode_length()) {
            step.status = Status::error;
            step.error = error;
            return step;
        }
        header_done_ = true;
        mask_phase_ = 0;
        step.status = Status::header_ready;
        step.header.fin = fin();
        step.header.rsv1 = (header_[0] & 0x40) != 0;
        step.header.opcode = opcode();
        step.header.payload_len = remaining_;
        return step;
    }
}

std::size_t FrameParser::read_payload(std::span<const std::uint8_t> in,
    std::span<std::uint8_t> out) noexcept
{
    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>(in.size(), remaining_));
    MaskKey key;
    std::memcpy(key.data(), header_ + filled_ - 4, 4);  // key ends the header
    mask_phase_ = unmask_copy(out, in.first(n), key, mask_phase_) & 3;
    remaining_ -= n;
    return n;
}

void FrameParser::next_frame() noexcept
{
    filled_ = 0;
    mask_phase_ = 0;
    header_done_ = false;
    remaining_ = 0;
}

}  // namespace wscore
