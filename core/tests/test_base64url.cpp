#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

#include "base64url.hpp"

using namespace wscore;
using namespace std::string_view_literals;

BOOST_AUTO_TEST_SUITE(base64url)

BOOST_AUTO_TEST_CASE(decodes_rfc_4648_vectors_without_padding)
{
    // RFC 4648 section 10, padding dropped as base64url in JWS does.
    const std::pair<std::string_view, std::string_view> vectors[] = {
        {"", ""}, {"Zg", "f"}, {"Zm8", "fo"}, {"Zm9v", "foo"},
        {"Zm9vYg", "foob"}, {"Zm9vYmE", "fooba"}, {"Zm9vYmFy", "foobar"}};
    std::string out = "stale";
    for (const auto &[in, want] : vectors) {
        BOOST_TEST(base64url_decode(in, out), in);
        BOOST_TEST(out == want);
    }
}

BOOST_AUTO_TEST_CASE(url_alphabet_not_the_standard_one)
{
    std::string out;
    BOOST_TEST(base64url_decode("-_8", out));
    BOOST_TEST(out == "\xfb\xff"sv);
    for (const std::string_view bad : {"+_8"sv, "/_8"sv, "Zg=="sv, "Zg="sv,
                                       "Z g"sv, "Zm9v\n"sv, "Zm\x80v"sv}) {
        BOOST_TEST(!base64url_decode(bad, out), bad);
    }
    BOOST_TEST(base64url_alphabet("AZaz09-_"));
    BOOST_TEST(!base64url_alphabet("a.b"));
}

BOOST_AUTO_TEST_CASE(lengths_no_encoding_has_are_refused)
{
    std::string out;
    BOOST_TEST(!base64url_decode("A", out));
    BOOST_TEST(!base64url_decode("Zm9vY", out));
    BOOST_TEST(base64url_decode("Zm9vYg", out));
}

BOOST_AUTO_TEST_CASE(every_byte_round_trips)
{
    // Encoded here by hand, bit by bit, independent of the decoder.
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string raw;
    for (int i = 0; i < 256; ++i) {
        raw.push_back(static_cast<char>(i));
    }
    std::string encoded;
    unsigned bits = 0;
    int held = 0;
    for (const char c : raw) {
        bits = (bits << 8) | static_cast<unsigned char>(c);
        held += 8;
        while (held >= 6) {
            held -= 6;
            encoded.push_back(alphabet[(bits >> held) & 63]);
        }
    }
    if (held > 0) {
        encoded.push_back(alphabet[(bits << (6 - held)) & 63]);
    }
    std::string out;
    BOOST_TEST_REQUIRE(base64url_decode(encoded, out));
    BOOST_TEST(out == raw);
}

BOOST_AUTO_TEST_SUITE_END()
