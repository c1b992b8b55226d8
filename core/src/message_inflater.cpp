#include "message_inflater.hpp"

#include <algorithm>

#include "zlib_memory.hpp"

namespace wscore {

namespace {

// Output is produced in steps of at most this many bytes, so the buffer
// grows with what the message really holds, not with a guess.
constexpr std::size_t output_step = 16 * 1024;

constexpr std::uint8_t sync_flush_tail[4] = {0x00, 0x00, 0xff, 0xff};

}  // namespace

MessageInflater::MessageInflater(std::uint8_t window_bits,
    bool reset_after_message) noexcept
    // A larger inflate window decodes any stream a smaller one does; zlib
    // versions differ on whether raw inflate takes 8.
    : window_bits_(std::clamp<std::uint8_t>(window_bits, 9, 15)),
      reset_after_message_(reset_after_message)
{
}

MessageInflater::~MessageInflater()
{
    release();
}

bool MessageInflater::ensure_stream() noexcept
{
    if (live_) {
        return true;
    }
    z_ = z_stream{};
    count_zlib_memory(z_, &allocated_);
    // Negative window bits: raw deflate data, no zlib header or checksum.
    if (inflateInit2(&z_, -static_cast<int>(window_bits_)) != Z_OK) {
        return false;
    }
    live_ = true;
    return true;
}

void MessageInflater::release() noexcept
{
    if (live_) {
        inflateEnd(&z_);
        live_ = false;
    }
}

MessageInflater::Result MessageInflater::inflate(
    std::span<const std::uint8_t> in, ByteBuffer &out, std::uint64_t limit)
    noexcept
{
    if (!ensure_stream()) {
        return Result::no_memory;
    }
    z_.next_in = const_cast<Bytef *>(in.data());
    z_.avail_in = static_cast<uInt>(in.size());

    for (;;) {
        const std::uint64_t room = limit > out.size() ? limit - out.size() : 0;
        const std::size_t step =
            static_cast<std::size_t>(std::min<std::uint64_t>(output_step,
                                                             room + 1));
        std::uint8_t *dst = out.extend(step);
        if (dst == nullptr) {
            return Result::no_memory;
        }
        z_.next_out = dst;
        z_.avail_out = static_cast<uInt>(step);
        const int rc = ::inflate(&z_, Z_SYNC_FLUSH);
        out.truncate(out.size() - z_.avail_out);
        if (out.size() > limit) {
            return Result::too_big;
        }
        switch (rc) {
        case Z_OK:
            break;
        case Z_STREAM_END:
            // The sender ended its stream with a final block (allowed by
            // section 7.2.3.3); whatever follows starts a new one.
            if (inflateReset(&z_) != Z_OK) {
                return Result::corrupt;
            }
            if (z_.avail_in == 0) {
                return Result::ok;
            }
            continue;
        case Z_BUF_ERROR:
            return Result::ok;  // no progress possible: input used up
        case Z_MEM_ERROR:
            return Result::no_memory;
        default:  // Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR
            return Result::corrupt;
        }
        if (z_.avail_in == 0 && z_.avail_out != 0) {
            return Result::ok;
        }
    }
}

MessageInflater::Result MessageInflater::finish_message(ByteBuffer &out,
    std::uint64_t limit) noexcept
{
    const Result result = inflate(sync_flush_tail, out, limit);
    message_compressed = false;
    compressed_bytes = 0;
    if (result == Result::ok && reset_after_message_) {
        // No context takeover: nothing of this message is needed for the
        // next one, so an idle connection keeps no zlib state at all.
        release();
    }
    return result;
}

}  // namespace wscore
