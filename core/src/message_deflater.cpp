#include "message_deflater.hpp"

#include <algorithm>

#include "zlib_memory.hpp"

namespace wscore {

namespace {

// The output buffer is kept between messages up to this size.
constexpr std::size_t kept_output_capacity = 16 * 1024;

constexpr std::uint8_t sync_flush_tail[4] = {0x00, 0x00, 0xff, 0xff};

}  // namespace

MessageDeflater::MessageDeflater(const DeflaterSettings &settings) noexcept
    : settings_(settings)
{
    // zlib's raw deflate cannot use a 256-byte window; negotiation never
    // agrees to 8, and a bad value must not reach deflateInit2.
    settings_.window_bits = std::clamp<std::uint8_t>(settings_.window_bits,
                                                     9, 15);
    settings_.level = std::min<std::uint8_t>(settings_.level, 9);
    settings_.mem_level = std::clamp<std::uint8_t>(settings_.mem_level, 1, 9);
}

MessageDeflater::~MessageDeflater()
{
    if (live_) {
        deflateEnd(&z_);
    }
}

bool MessageDeflater::ensure_stream() noexcept
{
    if (live_) {
        return true;
    }
    z_ = z_stream{};
    count_zlib_memory(z_, &allocated_);
    if (deflateInit2(&z_, settings_.level, Z_DEFLATED,
            -static_cast<int>(settings_.window_bits), settings_.mem_level,
            Z_DEFAULT_STRATEGY) != Z_OK) {
        return false;
    }
    live_ = true;
    return true;
}

std::span<const std::uint8_t> MessageDeflater::compress(
    std::span<const std::uint8_t> in) noexcept
{
    out_.clear_and_trim(kept_output_capacity);
    if (!ensure_stream()) {
        return {};
    }
    z_.next_in = const_cast<Bytef *>(in.data());
    z_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
        // deflateBound is for a whole stream; a sync flush adds the tail
        // and the empty stored block, hence the 16 spare bytes.
        const std::size_t step = std::max<std::size_t>(
            deflateBound(&z_, z_.avail_in) + 16, 64);
        std::uint8_t *dst = out_.extend(step);
        if (dst == nullptr) {
            deflateReset(&z_);
            return {};
        }
        z_.next_out = dst;
        z_.avail_out = static_cast<uInt>(step);
        const int rc = deflate(&z_, Z_SYNC_FLUSH);
        out_.truncate(out_.size() - z_.avail_out);
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            deflateReset(&z_);
            return {};
        }
        if (z_.avail_in == 0 && z_.avail_out != 0) {
            break;
        }
    }
    if (!settings_.context_takeover) {
        deflateReset(&z_);
    }
    // Section 7.2.1: remove the 4 octets 0x00 0x00 0xff 0xff at the tail.
    const std::span<const std::uint8_t> bytes = out_.bytes();
    if (bytes.size() >= 4
        && std::equal(bytes.end() - 4, bytes.end(), sync_flush_tail)) {
        out_.truncate(out_.size() - 4);
    }
    if (out_.empty()) {
        // Section 7.2.3.6: an empty message may be a single 0x00 octet.
        out_.append(std::span<const std::uint8_t>{sync_flush_tail, 1});
    }
    return out_.bytes();
}

}  // namespace wscore
