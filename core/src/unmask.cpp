#include "unmask.hpp"

#include <bit>
#include <cstring>

namespace wscore {

unsigned unmask_copy(std::span<std::uint8_t> dst,
    std::span<const std::uint8_t> src, MaskKey key, unsigned phase) noexcept
{
    // The key as a word, rotated so that byte i of src pairs with byte
    // i % 8 of word_mask; as 8 is a multiple of 4 the same rotation serves
    // the word loop and the tail. A rotate rather than a byte loop: most
    // messages are small, so this setup is a good part of the cost.
    std::uint32_t key_word;
    std::memcpy(&key_word, key.data(), sizeof key_word);
    const int shift = static_cast<int>(8 * (phase & 3));
    if constexpr (std::endian::native == std::endian::little) {
        key_word = std::rotr(key_word, shift);
    } else {
        key_word = std::rotl(key_word, shift);
    }
    const std::uint64_t word_mask =
        std::uint64_t{key_word} << 32 | key_word;
    std::uint8_t rotated[8];
    std::memcpy(rotated, &word_mask, sizeof rotated);

    const std::size_t n = src.size();
    const std::uint8_t *in = src.data();
    std::uint8_t *out = dst.data();
    std::size_t i = 0;

    // memcpy in and out keeps this free of alignment and aliasing
    // assumptions; compilers turn it into plain (vector) loads and stores.
#if defined(__GNUC__)
    // Two 16-byte vectors a step: the compiler did not vectorise the word
    // loop below (src and dst may overlap), which left 1 KiB messages at
    // about half an instruction per byte, the largest cost of their echo.
    using Vec16 = std::uint8_t __attribute__((vector_size(16)));
    Vec16 vec_mask;
    std::memcpy(&vec_mask, rotated, sizeof rotated);
    std::memcpy(reinterpret_cast<std::uint8_t *>(&vec_mask) + 8, rotated,
                sizeof rotated);
    for (; i + 32 <= n; i += 32) {
        Vec16 a;
        Vec16 b;
        std::memcpy(&a, in + i, sizeof a);
        std::memcpy(&b, in + i + 16, sizeof b);
        a ^= vec_mask;
        b ^= vec_mask;
        std::memcpy(out + i, &a, sizeof a);
        std::memcpy(out + i + 16, &b, sizeof b);
    }
#endif
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
