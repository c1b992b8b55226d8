#include "utf8_validator.hpp"

#include <cstring>

namespace wscore {

namespace {

// The states of the decoder between bytes. A lead byte picks the state;
// each continuation byte must fall in the state's range and moves on to
// the next state. The narrowed ranges after E0, ED, F0 and F4 are what
// reject overlong forms, UTF-16 surrogates (U+D800..DFFF) and code points
// above U+10FFFF (RFC 3629 section 4).
enum State : std::uint8_t {
    between_code_points = 0,
    last_continuation,        // 1 more byte,  80..BF
    two_more,                 // 2 more bytes, 80..BF first
    two_more_after_e0,        // A0..BF: no overlong 3-byte forms
    two_more_after_ed,        // 80..9F: no surrogates
    three_more,               // 3 more bytes, 80..BF first
    three_more_after_f0,      // 90..BF: no overlong 4-byte forms
    three_more_after_f4,      // 80..8F: nothing above U+10FFFF
    invalid
};

struct Continuation {
    std::uint8_t low;
    std::uint8_t high;
    State next;
};

constexpr Continuation continuation_rule[] = {
    {0x00, 0x00, invalid},                 // between_code_points (unused)
    {0x80, 0xBF, between_code_points},     // last_continuation
    {0x80, 0xBF, last_continuation},       // two_more
    {0xA0, 0xBF, last_continuation},       // two_more_after_e0
    {0x80, 0x9F, last_continuation},       // two_more_after_ed
    {0x80, 0xBF, two_more},                // three_more
    {0x90, 0xBF, two_more},                // three_more_after_f0
    {0x80, 0x8F, two_more},                // three_more_after_f4
};

constexpr State state_after_lead_byte(std::uint8_t b) noexcept
{
    if (b < 0x80) return between_code_points;
    if (b < 0xC2) return invalid;          // stray continuation, C0/C1
    if (b < 0xE0) return last_continuation;
    if (b == 0xE0) return two_more_after_e0;
    if (b == 0xED) return two_more_after_ed;
    if (b < 0xF0) return two_more;
    if (b == 0xF0) return three_more_after_f0;
    if (b < 0xF4) return three_more;
    if (b == 0xF4) return three_more_after_f4;
    return invalid;                        // F5..FF never occur
}

constexpr std::uint64_t high_bits = 0x8080808080808080ULL;

// ASCII skipping: most text is ASCII, so check 16 bytes per step when
// between code points and only fall back to the state machine when a byte
// has its high bit set.
std::size_t skip_ascii(const std::uint8_t *p, std::size_t i, std::size_t n)
    noexcept
{
    for (; i + 16 <= n; i += 16) {
        std::uint64_t a, b;
        std::memcpy(&a, p + i, 8);
        std::memcpy(&b, p + i + 8, 8);
        if (((a | b) & high_bits) != 0) {
            break;
        }
    }
    for (; i + 8 <= n; i += 8) {
        std::uint64_t a;
        std::memcpy(&a, p + i, 8);
        if ((a & high_bits) != 0) {
            break;
        }
    }
    while (i < n && p[i] < 0x80) {
        ++i;
    }
    return i;
}

}  // namespace

std::optional<std::size_t> Utf8Validator::feed(
    std::span<const std::uint8_t> bytes) noexcept
{
    const std::uint8_t *p = bytes.data();
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    auto state = static_cast<State>(state_);

    while (i < n) {
        if (state == between_code_points) {
            i = skip_ascii(p, i, n);
            if (i == n) {
                break;
            }
            state = state_after_lead_byte(p[i]);
        } else {
            const Continuation &rule = continuation_rule[state];
            if (p[i] < rule.low || p[i] > rule.high) {
                state = invalid;
            } else {
                state = rule.next;
            }
        }
        if (state == invalid) {
            state_ = between_code_points;
            return i;
        }
        ++i;
    }
    state_ = state;
    return std::nullopt;
}

bool is_valid_utf8(std::span<const std::uint8_t> bytes) noexcept
{
    Utf8Validator validator;
    return !validator.feed(bytes) && validator.at_boundary();
}

}  // namespace wscore
