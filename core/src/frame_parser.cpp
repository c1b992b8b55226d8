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
    // masked and server frames never (checked before this matters): the
    // 4 key bytes follow from the peer's role.
    const std::uint8_t len7 = header_[1] & 0x7F;
    const std::size_t extended = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    return 2 + extended + (server_frames_ ? 0 : 4);
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
    if (server_frames_) {
        return (b1 & 0x80) != 0 ? "masked server frame" : nullptr;
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
    if (filled_ != 0 || in.size() < 2) {
        return parse_header_in_pieces(in, rsv1_allowed);
    }
    // The usual case: a new header, most likely all of it in the buffer.
    // Same checks in the same order as byte-at-a-time, without the steps.
    header_[0] = in[0];
    header_[1] = in[1];
    filled_ = 2;
    if (const char *error = check_first_two_bytes(rsv1_allowed)) {
        return failed(2, error);
    }
    const std::size_t len = header_len();
    if (in.size() < len) {
        HeaderStep step = parse_header_in_pieces(in.subspan(2), rsv1_allowed);
        step.consumed += 2;
        return step;
    }
    std::memcpy(header_ + 2, in.data() + 2, len - 2);
    filled_ = static_cast<std::uint8_t>(len);
    return header_complete(len);
}

[[gnu::hot]]
std::optional<WholeFrame> FrameParser::whole_data_frame(
    std::span<const std::uint8_t> in) const noexcept
{
    if (in.size() < 2) {
        return std::nullopt;
    }
    const std::uint8_t b0 = in[0];
    const std::uint8_t b1 = in[1];
    // FIN, RSV1-3 clear, text or binary: the bits check_first_two_bytes
    // would look at all have the one value that passes.
    if (b0 != (0x80 | 0x1) && b0 != (0x80 | 0x2)) {
        return std::nullopt;
    }
    const bool masked = (b1 & 0x80) != 0;
    if (masked == server_frames_) {
        return std::nullopt;
    }
    std::size_t header_len = 2;
    std::size_t payload_len = b1 & 0x7F;
    if (payload_len == 126) {
        if (in.size() < 4) {
            return std::nullopt;
        }
        payload_len = std::size_t{in[2]} << 8 | in[3];
        if (payload_len < 126) {
            return std::nullopt;  // non-minimal: parse_header refuses it
        }
        header_len = 4;
    } else if (payload_len == 127) {
        return std::nullopt;  // 64 KiB and more: not all in one read
    }
    const std::uint8_t *key = masked ? in.data() + header_len : nullptr;
    header_len += masked ? 4 : 0;
    if (in.size() < header_len || in.size() - header_len < payload_len) {
        return std::nullopt;
    }
    return WholeFrame{static_cast<Opcode>(b0 & 0x0F), header_len,
                      payload_len, key};
}

FrameParser::HeaderStep FrameParser::parse_header_in_pieces(
    std::span<const std::uint8_t> in, bool rsv1_allowed) noexcept
{
    std::size_t consumed = 0;
    for (;;) {
        const std::size_t needed = filled_ < 2 ? 2 : header_len();
        const std::size_t take =
            std::min(needed - filled_, in.size() - consumed);
        std::memcpy(header_ + filled_, in.data() + consumed, take);
        const bool reached_two = filled_ < 2 && filled_ + take == 2;
        filled_ = static_cast<std::uint8_t>(filled_ + take);
        consumed += take;
        if (filled_ < needed) {
            HeaderStep step;
            step.consumed = consumed;
            return step;  // need_more
        }
        if (reached_two) {
            // The first two bytes decide most rules: fail before waiting
            // for the rest of the header.
            if (const char *error = check_first_two_bytes(rsv1_allowed)) {
                return failed(consumed, error);
            }
            continue;
        }
        return header_complete(consumed);
    }
}

// The whole header is in header_: decodes the length and reports it.
FrameParser::HeaderStep FrameParser::header_complete(std::size_t consumed)
    noexcept
{
    if (const char *error = decode_length()) {
        return failed(consumed, error);
    }
    header_done_ = true;
    mask_phase_ = 0;
    HeaderStep step;
    step.consumed = consumed;
    step.status = Status::header_ready;
    step.header.fin = fin();
    step.header.rsv1 = (header_[0] & 0x40) != 0;
    step.header.opcode = opcode();
    step.header.payload_len = remaining_;
    return step;
}

FrameParser::HeaderStep FrameParser::failed(std::size_t consumed,
    const char *error) noexcept
{
    HeaderStep step;
    step.consumed = consumed;
    step.status = Status::error;
    step.error = error;
    return step;
}

std::size_t FrameParser::read_payload(std::span<const std::uint8_t> in,
    std::span<std::uint8_t> out) noexcept
{
    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>(in.size(), remaining_));
    if (server_frames_) {
        if (n != 0) {
            std::memmove(out.data(), in.data(), n);
        }
        remaining_ -= n;
        return n;
    }
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
