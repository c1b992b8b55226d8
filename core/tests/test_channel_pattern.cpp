#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

#include "channel_pattern.hpp"

using namespace wscore;

namespace {

struct Case {
    std::string_view pattern;
    std::string_view name;
    bool matches;
};

// Names here may be empty or hold any byte: the matcher is not where
// channel names are validated.
constexpr Case cases[] = {
    // Literal patterns match exactly.
    {"room:1", "room:1", true},
    {"room:1", "room:10", false},
    {"room:1", "room:", false},
    {"room:1", "Room:1", false},
    {"", "", true},
    {"", "a", false},
    {"a", "", false},
    // A trailing star: any suffix, also the empty one.
    {"room:*", "room:1", true},
    {"room:*", "room:", true},
    {"room:*", "room:lobby:east", true},
    {"room:*", "room", false},
    {"room:*", "rooms:1", false},
    {"room:*", "xroom:1", false},
    // A lone star (or several) matches everything, the empty name too.
    {"*", "", true},
    {"*", "anything at all", true},
    {"**", "", true},
    {"**", "abc", true},
    {"***", "x", true},
    // '?' is exactly one byte.
    {"a?c", "abc", true},
    {"a?c", "a?c", true},
    {"a?c", "ac", false},
    {"a?c", "abbc", false},
    {"?", "", false},
    {"??", "ab", true},
    {"??", "abc", false},
    {"\xc3?", "\xc3\xa9", true},         // one byte of a UTF-8 pair
    {"?", "\xc3\xa9", false},            // not one character
    // Stars in the middle and at the front.
    {"*:chat", "room:chat", true},
    {"*:chat", ":chat", true},
    {"*:chat", "room:chatter", false},
    {"a*b*c", "abc", true},
    {"a*b*c", "axxbyyc", true},
    {"a*b*c", "axxbyy", false},
    {"a*b*c", "acb", false},
    {"a*b", "abab", true},               // the star must retry past 'b'
    {"a*ab", "aaab", true},
    {"*a*", "bab", true},
    {"*a*", "bbb", false},
    {"*?", "", false},
    {"*?", "x", true},
    {"?*?", "x", false},
    {"?*?", "xy", true},
    {"user:*:inbox", "user:42:inbox", true},
    {"user:*:inbox", "user:42:outbox", false},
    {"user:*:inbox", "user::inbox", true},
    // Bytes that only look special elsewhere are literals here.
    {"a[bc]", "ab", false},
    {"a[bc]", "a[bc]", true},
    {"a\\*", "a\\xyz", true},            // no escape: '\' is literal
};

}  // namespace

BOOST_AUTO_TEST_SUITE(channel_pattern)

BOOST_AUTO_TEST_CASE(table)
{
    for (const Case &c : cases) {
        BOOST_TEST_CONTEXT("pattern '" << c.pattern << "' name '" << c.name
                                       << "'")
        {
            BOOST_TEST(channel_pattern_matches(c.pattern, c.name) == c.matches);
        }
    }
}

BOOST_AUTO_TEST_CASE(embedded_nul_is_a_literal_byte)
{
    using namespace std::string_view_literals;
    BOOST_TEST(channel_pattern_matches("a\0c"sv, "a\0c"sv));
    BOOST_TEST(!channel_pattern_matches("a\0c"sv, "a"sv));
    BOOST_TEST(channel_pattern_matches("a?c"sv, "a\0c"sv));
}

BOOST_AUTO_TEST_CASE(many_stars_against_a_long_name_stay_cheap)
{
    // The classic blow-up case for recursive matchers: it must finish at
    // once (bounded by pattern * name steps).
    const std::string name(10'000, 'a');
    std::string pattern;
    for (int i = 0; i < 50; ++i) pattern += "*a";
    BOOST_TEST(channel_pattern_matches(pattern + "*", name));
    BOOST_TEST(!channel_pattern_matches(pattern + "b", name));
}

BOOST_AUTO_TEST_SUITE_END()
