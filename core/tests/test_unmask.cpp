#include <boost/test/unit_test.hpp>

#include "byte_printing.hpp"

#include <random>
#include <vector>

#include "unmask.hpp"

using wscore::MaskKey;
using wscore::unmask_copy;

namespace {

std::vector<std::uint8_t> reference_xor(const std::vector<std::uint8_t> &in,
    MaskKey key, unsigned phase)
{
    std::vector<std::uint8_t> out(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = in[i] ^ key[(phase + i) % 4];
    return out;
}

std::vector<std::uint8_t> random_bytes(std::size_t n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> v(n);
    for (auto &b : v) b = static_cast<std::uint8_t>(rng());
    return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(unmask)

BOOST_AUTO_TEST_CASE(matches_bytewise_xor_for_every_length_and_phase)
{
    const MaskKey key{0x12, 0x34, 0x56, 0x78};
    for (std::size_t n = 0; n < 70; ++n) {
        const auto in = random_bytes(n, static_cast<unsigned>(n));
        for (unsigned phase = 0; phase < 4; ++phase) {
            std::vector<std::uint8_t> out(n);
            const unsigned next = unmask_copy(out, in, key, phase);
            BOOST_TEST(out == reference_xor(in, key, phase));
            BOOST_TEST(next == (phase + n) % 4);
        }
    }
}

// Long payloads take a wider path where the CPU has one (AVX2, from 256
// bytes): every remainder after its 64-byte steps, in every phase.
BOOST_AUTO_TEST_CASE(matches_bytewise_xor_for_long_payloads)
{
    const MaskKey key{0x9a, 0x01, 0xf3, 0x5c};
    std::vector<std::size_t> lengths;
    for (std::size_t n = 250; n < 400; ++n) lengths.push_back(n);
    for (std::size_t n : {1024u, 4095u, 65536u, 65541u}) lengths.push_back(n);
    for (std::size_t n : lengths) {
        const auto in = random_bytes(n, static_cast<unsigned>(n));
        for (unsigned phase = 0; phase < 4; ++phase) {
            std::vector<std::uint8_t> out(n);
            const unsigned next = unmask_copy(out, in, key, phase);
            BOOST_TEST(out == reference_xor(in, key, phase));
            BOOST_TEST(next == (phase + n) % 4);
        }
        auto data = in;
        unmask_copy(data, data, key, 3);
        BOOST_TEST(data == reference_xor(in, key, 3));
    }
}

BOOST_AUTO_TEST_CASE(in_place_works)
{
    const MaskKey key{0xde, 0xad, 0xbe, 0xef};
    auto data = random_bytes(1000, 7);
    const auto expected = reference_xor(data, key, 0);
    unmask_copy(data, data, key, 0);
    BOOST_TEST(data == expected);
}

BOOST_AUTO_TEST_CASE(pieces_keep_the_phase)
{
    const MaskKey key{1, 2, 3, 4};
    const auto in = random_bytes(257, 3);
    const auto expected = reference_xor(in, key, 0);
    std::mt19937 rng(11);
    std::vector<std::uint8_t> out(in.size());
    unsigned phase = 0;
    std::size_t off = 0;
    while (off < in.size()) {
        std::size_t n = std::min<std::size_t>(in.size() - off, 1 + rng() % 19);
        phase = unmask_copy(std::span(out).subspan(off, n),
                            std::span(in).subspan(off, n), key, phase);
        off += n;
    }
    BOOST_TEST(out == expected);
}

BOOST_AUTO_TEST_CASE(masking_twice_restores_the_input)
{
    const MaskKey key{9, 8, 7, 6};
    const auto in = random_bytes(100, 5);
    std::vector<std::uint8_t> once(in.size()), twice(in.size());
    unmask_copy(once, in, key, 2);
    unmask_copy(twice, once, key, 2);
    BOOST_TEST(twice == in);
    BOOST_TEST(once != in);
}

BOOST_AUTO_TEST_SUITE_END()
