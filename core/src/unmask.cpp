#include "unmask.hpp"

#include <cstring>

namespace wscore {

unsigned unmask_copy(std::span<std::uint8_t> dst,
    std::span<const std::uint8_t> src, MaskKey key, unsigned phase) noexcept
{
    // Key bytes rotated so that byte i of src pairs with rotated[i % 8];
    // as 8 is a multiple of 4 the same rotation serves the word loop and
    // the tail.
    std::uint8_t rotated[8];
    for (unsigned i = 0; i < 8; ++i) {
        rotated[i] = key[(phase + i) & 3];
    }
    std::uint64_t word_mask;
    std::memcpy(&word_mask, rotated, sizeof word_mask);

    const std::size_t n = src.size();
    const std::uint8_t *in = src.data();
    std::uint8_t *out = dst.data();
    std::size_t i = 0;

    // memcpy in and out keeps this free of alignment and aliasing
    // assumptions; compilers turn it into plain (vector) loads and stores.
    for (; i + 8 <= n; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, in + i, sizeof word);
        word ^= word_mask;
        std::memcpy(out + i, &word, sizeof word);
    }
    for (; i < n; ++i) {
        out[i] = static_cast<std::uint8_t>(in[i] ^ rotated[i & 7]);
    }
    return static_cast<unsigned>((phase + n) & 3);
}

}  // namespace wscore
