#include "unmask.hpp"

#include <bit>
#include <cstring>

namespace wscore {

#if defined(__GNUC__) && defined(__x86_64__)
namespace {

// From 256 bytes, where the CPU has AVX2: two 32-byte vectors a step (a
// seventh of an instruction per byte, against a third with 16-byte ones),
// the tail a word, then a byte at a time. A function of its own, so that
// the short payloads' path stays as it was (below 256 bytes the call costs
// more than it saves).
__attribute__((target("avx2"))) void unmask_long_avx2(std::uint8_t *out,
    const std::uint8_t *in, std::size_t n,
    const std::uint8_t (&rotated)[8]) noexcept
{
    using Vec32 = std::uint8_t __attribute__((vector_size(32)));
    Vec32 mask;
    for (std::size_t k = 0; k < sizeof mask; k += sizeof rotated) {
        std::memcpy(reinterpret_cast<std::uint8_t *>(&mask) + k, rotated,
                    sizeof rotated);
    }
    std::size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        Vec32 a;
        Vec32 b;
        std::memcpy(&a, in + i, sizeof a);
        std::memcpy(&b, in + i + 32, sizeof b);
        a ^= mask;
        b ^= mask;
        std::memcpy(out + i, &a, sizeof a);
        std::memcpy(out + i + 32, &b, sizeof b);
    }
    std::uint64_t word_mask;
    std::memcpy(&word_mask, rotated, sizeof word_mask);
    for (; i + 8 <= n; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, in + i, sizeof word);
        word ^= word_mask;
        std::memcpy(out + i, &word, sizeof word);
    }
    for (; i < n; ++i) {
        out[i] = static_cast<std::uint8_t>(in[i] ^ rotated[i & 7]);
    }
}

// Asked once, when the library is loaded (initialised here: this may run
// before the runtime's own constructor does it).
const bool have_avx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));

}  // namespace
#endif

[[gnu::hot]]
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

#if defined(__GNUC__) && defined(__x86_64__)
    if (n >= 256 && have_avx2) {
        unmask_long_avx2(out, in, n, rotated);
        return static_cast<unsigned>((phase + n) & 3);
    }
#endif

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
    // Half a word more: i is a multiple of 8 here, so the key's bytes
    // start at rotated[0]. Small messages end here (20 bytes: two words
    // and this), where the byte loop took four steps more.
    if (i + 4 <= n) {
        std::uint32_t half;
        std::uint32_t half_mask;
        std::memcpy(&half, in + i, sizeof half);
        std::memcpy(&half_mask, rotated, sizeof half_mask);
        half ^= half_mask;
        std::memcpy(out + i, &half, sizeof half);
        i += 4;
    }
    for (; i < n; ++i) {
        out[i] = static_cast<std::uint8_t>(in[i] ^ rotated[i & 7]);
    }
    return static_cast<unsigned>((phase + n) & 3);
}

}  // namespace wscore
