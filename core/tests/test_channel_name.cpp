#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

#include "channel_name.hpp"
#include "wscore.h"

using namespace wscore;
using namespace std::string_view_literals;

BOOST_AUTO_TEST_SUITE(channel_name)

BOOST_AUTO_TEST_CASE(printable_ascii_names_are_valid)
{
    for (const std::string_view good :
         {"a"sv, "!"sv, "~"sv, "room:1"sv, "user:alice"sv, "a/b.c-d_e"sv,
          "#{}[]<>|&%$@^`'="sv}) {
        BOOST_TEST(channel_name_valid(good));
        BOOST_TEST(channel_pattern_valid(good));
        BOOST_TEST(wscore_channel_name_valid(good.data(), good.size()) == 1);
    }
}

BOOST_AUTO_TEST_CASE(length_is_one_to_255_bytes)
{
    const std::string longest(max_channel_name_len, 'x');
    BOOST_TEST(max_channel_name_len == std::size_t{WSCORE_MAX_CHANNEL_LEN});
    BOOST_TEST(channel_name_valid(longest));
    BOOST_TEST(!channel_name_valid(longest + "x"));
    BOOST_TEST(!channel_name_valid(""));
    BOOST_TEST(!channel_pattern_valid(""));
    BOOST_TEST(!channel_pattern_valid(longest + "*"));
    BOOST_TEST(wscore_channel_name_valid(nullptr, 0) == 0);
}

BOOST_AUTO_TEST_CASE(bytes_outside_printable_ascii_are_refused)
{
    for (unsigned b = 0; b < 256; ++b) {
        const char c = static_cast<char>(b);
        const std::string name = std::string("room:") + c;
        const bool printable = b >= 0x21 && b <= 0x7e;
        const bool special = c == '"' || c == '\\' || c == '*' || c == '?';
        BOOST_TEST_CONTEXT("byte " << b)
        {
            BOOST_TEST(channel_name_valid(name) == (printable && !special));
        }
    }
}

BOOST_AUTO_TEST_CASE(wildcards_only_in_patterns)
{
    for (const std::string_view s : {"room:*"sv, "room:?"sv, "*"sv, "a?b*"sv}) {
        BOOST_TEST(!channel_name_valid(s));
        BOOST_TEST(channel_pattern_valid(s));
        BOOST_TEST(wscore_channel_name_valid(s.data(), s.size()) == 0);
        BOOST_TEST(wscore_channel_pattern_valid(s.data(), s.size()) == 1);
    }
    // Patterns follow the name rule otherwise.
    for (const std::string_view s : {"a b*"sv, "room:\"*"sv, "\\*"sv,
                                     "\xc3\xa9*"sv}) {
        BOOST_TEST(!channel_pattern_valid(s));
    }
}

BOOST_AUTO_TEST_SUITE_END()
