#include <boost/test/unit_test.hpp>

#include "byte_printing.hpp"

#include <optional>
#include <string>
#include <vector>

#include "utf8_validator.hpp"

using wscore::Utf8Validator;
using wscore::is_valid_utf8;

namespace {

std::vector<std::uint8_t> b(std::initializer_list<int> v)
{
    std::vector<std::uint8_t> out;
    for (int x : v) out.push_back(static_cast<std::uint8_t>(x));
    return out;
}

std::vector<std::uint8_t> s(std::string_view v)
{
    return {v.begin(), v.end()};
}

// Index of the first invalid byte, or SIZE_MAX when none is.
std::size_t first_invalid(Utf8Validator v, const std::vector<std::uint8_t> &bytes)
{
    return v.feed(bytes).value_or(SIZE_MAX);
}

std::size_t first_invalid(Utf8Validator &v, const std::vector<std::uint8_t> &bytes, int)
{
    return v.feed(bytes).value_or(SIZE_MAX);
}

bool valid_fed_bytewise(const std::vector<std::uint8_t> &v)
{
    Utf8Validator val;
    for (std::uint8_t x : v) {
        if (val.feed({&x, 1})) return false;
    }
    return val.at_boundary();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(utf8_validator)

BOOST_AUTO_TEST_CASE(accepts_valid_text)
{
    const std::vector<std::vector<std::uint8_t>> valid = {
        s(""), s("hello"), s("κόσμε"), s("\xe2\x82\xac"),          // €
        b({0x7f}), b({0xc2, 0x80}), b({0xdf, 0xbf}),             // 2-byte ends
        b({0xe0, 0xa0, 0x80}), b({0xef, 0xbf, 0xbf}),            // 3-byte ends
        b({0xed, 0x9f, 0xbf}), b({0xee, 0x80, 0x80}),            // around surrogates
        b({0xf0, 0x90, 0x80, 0x80}), b({0xf4, 0x8f, 0xbf, 0xbf}),  // 4-byte ends
        s("\xf0\x9f\x98\x80 smile, then 40 bytes of ascii.........."),
    };
    for (const auto &v : valid) {
        BOOST_TEST(is_valid_utf8(v));
        BOOST_TEST(valid_fed_bytewise(v));
    }
}

BOOST_AUTO_TEST_CASE(rejects_classic_invalid_cases)
{
    const std::vector<std::vector<std::uint8_t>> invalid = {
        b({0xc0, 0x80}), b({0xc1, 0xbf}),                  // overlong 2-byte
        b({0xe0, 0x80, 0x80}), b({0xe0, 0x9f, 0xbf}),      // overlong 3-byte
        b({0xf0, 0x80, 0x80, 0x80}), b({0xf0, 0x8f, 0xbf, 0xbf}),  // overlong 4
        b({0xed, 0xa0, 0x80}), b({0xed, 0xbf, 0xbf}),      // surrogates D800, DFFF
        b({0xf4, 0x90, 0x80, 0x80}),                       // U+110000
        b({0xf5, 0x80, 0x80, 0x80}), b({0xf8}), b({0xfe}), b({0xff}),  // F5..FF
        b({0x80}), b({0xbf}),                              // lone continuation
        b({0xc2, 0x41}), b({0xe2, 0x82, 0x41}),            // missing continuation
        b({0xc2}), b({0xe2, 0x82}), b({0xf0, 0x9f, 0x98}), // truncated at end
    };
    for (const auto &v : invalid) {
        BOOST_TEST(!is_valid_utf8(v));
        BOOST_TEST(!valid_fed_bytewise(v));
    }
}

BOOST_AUTO_TEST_CASE(truncated_sequence_is_only_caught_at_the_end)
{
    Utf8Validator v;
    BOOST_TEST(!v.feed(b({'a', 0xf0, 0x9f})));
    BOOST_TEST(!v.at_boundary());
    BOOST_TEST(!v.feed(b({0x98, 0x80})));
    BOOST_TEST(v.at_boundary());
}

BOOST_AUTO_TEST_CASE(sequences_split_across_pieces)
{
    const auto text = s("a\xc3\xa9" "b\xe2\x82\xac" "c\xf0\x9f\x98\x80" "d");
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
        Utf8Validator v;
        BOOST_TEST(!v.feed(std::span(text).first(cut)));
        BOOST_TEST(!v.feed(std::span(text).subspan(cut)));
        BOOST_TEST(v.at_boundary());
    }
}

BOOST_AUTO_TEST_CASE(reports_the_first_invalid_byte)
{
    std::string text(100, 'x');
    text[37] = '\xc0';
    BOOST_TEST(first_invalid(Utf8Validator{}, s(text)) == 37u);

    // Positions inside and after the 16- and 8-byte ASCII windows.
    for (std::size_t pos : {0u, 7u, 8u, 15u, 16u, 31u, 63u}) {
        std::string t(64, 'a');
        t[pos] = '\xff';
        BOOST_TEST(first_invalid(Utf8Validator{}, s(t)) == pos);
    }
    // A bad continuation is reported at the continuation, not the lead.
    BOOST_TEST(first_invalid(Utf8Validator{}, b({'a', 0xe0, 0x80})) == 2u);
    // Surrogate second byte in a second piece: position within that piece.
    Utf8Validator v;
    BOOST_TEST(first_invalid(v, b({'o', 'k', 0xed}), 0) == SIZE_MAX);
    BOOST_TEST(first_invalid(v, b({0xa0, 0x80}), 0) == 0u);
}

BOOST_AUTO_TEST_CASE(reset_starts_over)
{
    Utf8Validator v;
    BOOST_TEST(!v.feed(b({0xe2})));
    v.reset();
    BOOST_TEST(v.at_boundary());
    BOOST_TEST(!v.feed(b({'a'})));
}

BOOST_AUTO_TEST_CASE(exhaustive_two_and_three_byte_agree_with_definition)
{
    // Compare the state machine with a direct decoding for every 2- and
    // 3-byte sequence with a multibyte lead.
    for (int b0 = 0x80; b0 <= 0xff; ++b0) {
        for (int b1 = 0; b1 <= 0xff; ++b1) {
            const bool lead2 = b0 >= 0xc0 && b0 < 0xe0;
            const bool cont1 = (b1 & 0xc0) == 0x80;
            const int cp = ((b0 & 0x1f) << 6) | (b1 & 0x3f);
            const bool expect2 = lead2 && cont1 && cp >= 0x80;
            BOOST_TEST(is_valid_utf8(b({b0, b1})) == expect2);
            if (b0 >= 0xe0 && b0 < 0xf0 && cont1) {
                const int cp3 = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6);
                const bool expect3 = cp3 >= 0x800 && !(cp3 >= 0xd800 && cp3 <= 0xdfff);
                BOOST_TEST(is_valid_utf8(b({b0, b1, 0x80})) == expect3);
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
