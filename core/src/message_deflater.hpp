// MessageDeflater: compression of whole messages for permessage-deflate
// (RFC 7692 section 7.2.1). Each message is deflated with a sync flush and
// the 0x00 0x00 0xff 0xff tail removed. With context takeover the LZ77
// window carries over from message to message (better ratio, one
// compressor per connection); without it the compressor is reset after
// each message, so one compressor can serve any number of connections and
// its output can be shared between them.

#ifndef WSCORE_MESSAGE_DEFLATER_HPP
#define WSCORE_MESSAGE_DEFLATER_HPP

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "byte_buffer.hpp"

namespace wscore {

struct DeflaterSettings {
    std::uint8_t window_bits = 15;   // 9..15: the agreed server window
    std::uint8_t level = 1;          // 0..9, zlib's compression level
    std::uint8_t mem_level = 8;      // 1..9, zlib's memLevel
    bool context_takeover = true;
};

class MessageDeflater {
public:
    explicit MessageDeflater(const DeflaterSettings &settings) noexcept;
    ~MessageDeflater();
    MessageDeflater(const MessageDeflater &) = delete;
    MessageDeflater &operator=(const MessageDeflater &) = delete;

    // Compresses one message; the result stays valid until the next call.
    // Empty span on failure (no memory); a message always compresses to
    // at least one byte.
    std::span<const std::uint8_t> compress(std::span<const std::uint8_t> in)
        noexcept;

    // Bytes zlib holds now (plus the output buffer).
    std::size_t memory() const noexcept
    {
        return allocated_ + out_.capacity();
    }

private:
    bool ensure_stream() noexcept;

    z_stream z_ = {};
    ByteBuffer out_;
    std::size_t allocated_ = 0;
    DeflaterSettings settings_;
    bool live_ = false;
};

}  // namespace wscore

#endif
