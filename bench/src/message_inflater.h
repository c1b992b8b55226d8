// permessage-deflate on the client side of wsload: inflates the server's
// compressed messages (RFC 7692 7.2.2) so they can be checked like plain
// ones. One per connection, keeping the LZ77 window across messages,
// which is right whether or not the server takes context over.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace wsload {

class MessageInflater {
public:
    MessageInflater() = default;
    ~MessageInflater() { release(); }
    MessageInflater(const MessageInflater&) = delete;
    MessageInflater& operator=(const MessageInflater&) = delete;
    MessageInflater(MessageInflater&& other) noexcept;
    MessageInflater& operator=(MessageInflater&&) = delete;

    // The whole message, or nullopt for corrupt data. The span stays
    // valid until the next call.
    std::optional<std::span<const std::uint8_t>> inflate(std::span<const std::uint8_t> payload);
    void release();

private:
    z_stream z_{};
    bool live_ = false;
    std::vector<std::uint8_t> out_;
};

}  // namespace wsload
