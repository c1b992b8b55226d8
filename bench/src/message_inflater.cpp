#include "message_inflater.h"

namespace wsload {

MessageInflater::MessageInflater(MessageInflater&& other) noexcept {
    // Moved only while the connection table is built, before any use.
    (void)other;
}

void MessageInflater::release() {
    if (live_) {
        inflateEnd(&z_);
        live_ = false;
    }
}

std::optional<std::span<const std::uint8_t>> MessageInflater::inflate(
    std::span<const std::uint8_t> payload) {
    if (!live_) {
        z_ = z_stream{};
        if (inflateInit2(&z_, -15) != Z_OK) return std::nullopt;
        live_ = true;
    }
    static constexpr std::uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};
    out_.clear();
    for (const auto part : {payload, std::span<const std::uint8_t>(tail)}) {
        z_.next_in = const_cast<Bytef*>(part.data());
        z_.avail_in = static_cast<uInt>(part.size());
        do {
            const std::size_t used = out_.size();
            out_.resize(used + 4096 + part.size() * 4);
            z_.next_out = out_.data() + used;
            z_.avail_out = static_cast<uInt>(out_.size() - used);
            const int rc = ::inflate(&z_, Z_SYNC_FLUSH);
            out_.resize(out_.size() - z_.avail_out);
            if (rc == Z_STREAM_END) {
                inflateReset(&z_);
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                return std::nullopt;
            }
            if (rc == Z_BUF_ERROR) break;
        } while (z_.avail_in > 0 || z_.avail_out == 0);
    }
    return std::span<const std::uint8_t>(out_);
}

}  // namespace wsload
