#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "close_payload.hpp"

using namespace wscore;

namespace {

std::vector<std::uint8_t> payload(int code, std::string_view reason = {})
{
    std::vector<std::uint8_t> p{static_cast<std::uint8_t>(code >> 8),
                                static_cast<std::uint8_t>(code)};
    for (char c : reason) p.push_back(static_cast<std::uint8_t>(c));
    return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(close_payload)

BOOST_AUTO_TEST_CASE(valid_codes)
{
    for (int c : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012,
                  1013, 1014, 3000, 3999, 4000, 4999}) {
        BOOST_TEST(is_valid_close_code(static_cast<std::uint16_t>(c)));
    }
}

BOOST_AUTO_TEST_CASE(invalid_codes)
{
    for (int c : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000,
                  65535}) {
        BOOST_TEST(!is_valid_close_code(static_cast<std::uint16_t>(c)));
        const auto parsed = parse_close_payload(payload(c));
        BOOST_TEST(parsed.error != nullptr);
        BOOST_TEST(parsed.error_close_code == 1002);
    }
    BOOST_TEST(std::string(parse_close_payload(payload(1005)).error) ==
               "invalid close code 1005");
}

BOOST_AUTO_TEST_CASE(empty_payload_means_no_status)
{
    const auto parsed = parse_close_payload({});
    BOOST_TEST(parsed.error == nullptr);
    BOOST_TEST(parsed.code == 1005);
    BOOST_TEST(parsed.reason.empty());
}

BOOST_AUTO_TEST_CASE(one_byte_payload_is_a_protocol_error)
{
    const std::uint8_t one = 0x03;
    const auto parsed = parse_close_payload({&one, 1});
    BOOST_TEST(std::string(parsed.error) == "close payload of 1 byte");
    BOOST_TEST(parsed.error_close_code == 1002);
}

BOOST_AUTO_TEST_CASE(code_and_reason)
{
    const auto p = payload(4001, "bye \xc3\xa9");
    const auto parsed = parse_close_payload(p);
    BOOST_TEST(parsed.error == nullptr);
    BOOST_TEST(parsed.code == 4001);
    BOOST_TEST(std::string(parsed.reason.begin(), parsed.reason.end()) ==
               "bye \xc3\xa9");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_reason)
{
    const auto parsed = parse_close_payload(payload(1000, "bad \xc0\x80"));
    BOOST_TEST(std::string(parsed.error) == "invalid UTF-8 in close reason");
    BOOST_TEST(parsed.error_close_code == 1007);
    // Truncated sequence at the end of the reason is invalid too.
    BOOST_TEST(parse_close_payload(payload(1000, "\xe2\x82")).error_close_code ==
               1007);
}

BOOST_AUTO_TEST_CASE(encode_truncates_at_a_code_point_boundary)
{
    std::uint8_t out[max_close_payload];
    std::string reason(122, 'a');
    reason += "\xe2\x82\xac";  // 3 bytes straddling the 123-byte limit
    const std::size_t n = encode_close_payload(1001, reason,
        std::span<std::uint8_t, max_close_payload>{out});
    BOOST_TEST(n == 2 + 122);
    BOOST_TEST(out[0] == 0x03);
    BOOST_TEST(out[1] == 0xe9);
    BOOST_TEST(parse_close_payload({out, n}).error == nullptr);

    const std::size_t short_n = encode_close_payload(1000, "ok",
        std::span<std::uint8_t, max_close_payload>{out});
    BOOST_TEST(short_n == 4);
    BOOST_TEST(std::string(out + 2, out + 4) == "ok");
}

BOOST_AUTO_TEST_SUITE_END()
