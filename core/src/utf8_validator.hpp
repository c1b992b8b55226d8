// Utf8Validator: incremental UTF-8 validation (RFC 3629) for text messages
// that arrive in arbitrary pieces: across receive() calls, frames and
// fragments. It fails at the first byte that cannot start or continue a
// valid sequence, so the session can close 1007 before the rest arrives.

#ifndef WSCORE_UTF8_VALIDATOR_HPP
#define WSCORE_UTF8_VALIDATOR_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace wscore {

class Utf8Validator {
public:
    // Checks the next piece of the text. Returns the index (within bytes)
    // of the first invalid byte, or nullopt if every byte is fine so far.
    // After a failure the validator must be reset before reuse.
    std::optional<std::size_t> feed(std::span<const std::uint8_t> bytes)
        noexcept;

    // True when the text so far ends on a code point boundary; a message
    // that ends while this is false has a truncated sequence.
    bool at_boundary() const noexcept { return state_ == 0; }

    void reset() noexcept { state_ = 0; }

private:
    // 0 = between code points; otherwise which continuation bytes are
    // still expected and in which range (see the table in the .cpp).
    std::uint8_t state_ = 0;
};

// Whole-buffer convenience: is bytes complete, valid UTF-8?
bool is_valid_utf8(std::span<const std::uint8_t> bytes) noexcept;

}  // namespace wscore

#endif
