// FrameParser: incremental parsing of frames (RFC 6455 section 5.2), a
// client's (masked, the default) or, for a session that is itself the
// client (a proxy's upstream link), a server's (never masked).
//
// The header may arrive a byte at a time; it is collected in a 14-byte
// array (the longest client header) and checked as soon as the bytes that
// decide each rule are in. A header that arrives whole (the usual case)
// takes a fast path with the same checks in the same order. The payload then streams through read_payload,
// which unmasks it into the caller's buffer, keeping the mask phase across
// pieces. Rules that need message state (fragment order, size limits)
// belong to the session; everything decided by one header is checked here.

#ifndef WSCORE_FRAME_PARSER_HPP
#define WSCORE_FRAME_PARSER_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "opcode.hpp"

namespace wscore {

// A whole data frame at the start of the input (see whole_data_frame).
struct WholeFrame {
    Opcode opcode = Opcode::binary;
    std::size_t header_len = 0;            // key included
    std::size_t payload_len = 0;
    const std::uint8_t *key = nullptr;     // null: not masked
};

struct FrameHeader {
    bool fin = false;
    bool rsv1 = false;
    Opcode opcode = Opcode::continuation;
    std::uint64_t payload_len = 0;
};

class FrameParser {
public:
    static constexpr std::size_t max_header_len = 14;  // 2 + 8 + mask 4

    enum class Status : std::uint8_t { need_more, header_ready, error };

    struct HeaderStep {
        std::size_t consumed = 0;
        Status status = Status::need_more;
        const char *error = nullptr;  // static; the close code is 1002
        FrameHeader header;           // valid when header_ready
    };

    // Feeds header bytes; consumes no more than the header. rsv1_allowed
    // is the hook for permessage-deflate, which gives RSV1 a meaning.
    HeaderStep parse_header(std::span<const std::uint8_t> in,
        bool rsv1_allowed) noexcept;

    bool header_done() const noexcept { return header_done_; }
    // No byte of the next frame seen yet.
    bool between_frames() const noexcept { return filled_ == 0; }

    // The usual frame, recognised in one step: a text or binary frame with
    // FIN set and no RSV bit, masked as the peer's role requires, its
    // length in 7 or 16 bits (minimal), header and payload all in in. The
    // parser's state is not touched: the caller unmasks the payload itself.
    // Anything else (nullopt) goes through parse_header, which says what
    // is wrong with it. Only between frames.
    std::optional<WholeFrame> whole_data_frame(
        std::span<const std::uint8_t> in) const noexcept;
    Opcode opcode() const noexcept
    {
        return static_cast<Opcode>(header_[0] & 0x0F);
    }
    bool fin() const noexcept { return (header_[0] & 0x80) != 0; }
    std::uint64_t payload_remaining() const noexcept { return remaining_; }

    // Unmasks min(in.size(), payload_remaining()) bytes of in into out
    // (which must have room for them) and returns that count.
    std::size_t read_payload(std::span<const std::uint8_t> in,
        std::span<std::uint8_t> out) noexcept;

    // Forgets the finished frame; the next byte starts a new header.
    void next_frame() noexcept;

    // The peer is a server: its frames must not be masked (section 5.1),
    // and their payload is copied as is. Set before the first byte.
    void expect_server_frames() noexcept { server_frames_ = true; }

private:
    HeaderStep parse_header_in_pieces(std::span<const std::uint8_t> in,
        bool rsv1_allowed) noexcept;
    HeaderStep header_complete(std::size_t consumed) noexcept;
    static HeaderStep failed(std::size_t consumed, const char *error)
        noexcept;
    std::size_t header_len() const noexcept;
    const char *check_first_two_bytes(bool rsv1_allowed) const noexcept;
    const char *decode_length() noexcept;

    std::uint64_t remaining_ = 0;
    std::uint8_t header_[max_header_len] = {};
    std::uint8_t filled_ : 4 = 0;
    std::uint8_t mask_phase_ : 2 = 0;
    bool header_done_ : 1 = false;
    bool server_frames_ : 1 = false;
};

}  // namespace wscore

#endif
