// MessageInflater: decompression of permessage-deflate messages from the
// client (RFC 7692 section 7.2.2), bounded by the message size limit.
//
// Compressed payload goes in as it arrives (any split, across fragments);
// inflated bytes are appended to the caller's buffer, which never grows
// past limit + 1 bytes: a small frame that inflates to gigabytes (a "zip
// bomb") is stopped after the first byte over the limit. At the end of
// each message the sender removed the 0x00 0x00 0xff 0xff tail of its
// sync flush; finish_message puts it back.
//
// Memory: the zlib state (a window of 2^window_bits bytes plus about 7 KiB)
// exists only while needed. When the client promised no context takeover
// it is freed after every message, so an idle connection holds none.

#ifndef WSCORE_MESSAGE_INFLATER_HPP
#define WSCORE_MESSAGE_INFLATER_HPP

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "byte_buffer.hpp"

namespace wscore {

class MessageInflater {
public:
    enum class Result : std::uint8_t { ok, too_big, corrupt, no_memory };

    // window_bits: the client's agreed client_max_window_bits (8..15).
    MessageInflater(std::uint8_t window_bits, bool reset_after_message)
        noexcept;
    ~MessageInflater();
    MessageInflater(const MessageInflater &) = delete;
    MessageInflater &operator=(const MessageInflater &) = delete;

    // Inflates in, appending to out; out.size() never exceeds limit
    // except by the one byte that proves it is too_big.
    Result inflate(std::span<const std::uint8_t> in, ByteBuffer &out,
        std::uint64_t limit) noexcept;

    // Feeds the removed tail, flushing the rest of the message into out.
    Result finish_message(ByteBuffer &out, std::uint64_t limit) noexcept;

    // Frees the zlib state (it is made again when needed).
    void release() noexcept;

    // Bytes zlib holds now.
    std::size_t memory() const noexcept { return allocated_; }

    // The state of the message being received, kept here so the session
    // stays small when deflate is off.
    bool message_compressed = false;
    std::uint64_t compressed_bytes = 0;

private:
    bool ensure_stream() noexcept;

    z_stream z_ = {};
    std::size_t allocated_ = 0;
    std::uint8_t window_bits_;
    bool reset_after_message_;
    bool live_ = false;
};

}  // namespace wscore

#endif
