#include <boost/test/unit_test.hpp>

#include <string_view>

#include "origin.hpp"
#include "wscore.h"

using namespace wscore;
using namespace std::string_view_literals;

namespace {

bool allowed(std::string_view pattern_text, std::string_view origin)
{
    OriginPattern p;
    BOOST_TEST_REQUIRE((origin_pattern_parse(pattern_text, p)
                        == OriginPatternError::none));
    return origin_matches(p, origin);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(origin)

BOOST_AUTO_TEST_CASE(split_serialized_origins)
{
    OriginParts o;
    BOOST_TEST_REQUIRE(origin_split("https://app.example.com:8443", o));
    BOOST_TEST(o.scheme == "https");
    BOOST_TEST(o.host == "app.example.com");
    BOOST_TEST(o.port == "8443");
    BOOST_TEST_REQUIRE(origin_split("http://[::1]:8080", o));
    BOOST_TEST(o.host == "[::1]");
    BOOST_TEST(o.port == "8080");
    BOOST_TEST_REQUIRE(origin_split("http://[::1]", o));
    BOOST_TEST(o.port.empty());
    for (const std::string_view bad :
         {""sv, "null"sv, "app.example.com"sv, "://x"sv, "https://"sv,
          "https://a/b"sv, "https://u@a"sv, "https://a b"sv, "https://a:"sv,
          "https://a:123456"sv, "https://a:8x"sv, "http://[::1"sv,
          "http://[::1]x"sv, "https://\x7f"sv, "https://caf\xc3\xa9"sv}) {
        BOOST_TEST(!origin_split(bad, o), bad);
    }
}

BOOST_AUTO_TEST_CASE(exact_patterns)
{
    BOOST_TEST(allowed("https://app.example.com", "https://app.example.com"));
    BOOST_TEST(allowed("https://App.Example.com", "HTTPS://app.EXAMPLE.com"));
    BOOST_TEST(!allowed("https://app.example.com", "http://app.example.com"));
    BOOST_TEST(!allowed("https://app.example.com",
                        "https://app.example.com:443"));
    BOOST_TEST(allowed("http://127.0.0.1:8080", "http://127.0.0.1:8080"));
    BOOST_TEST(!allowed("http://127.0.0.1:8080", "http://127.0.0.1:8081"));
    BOOST_TEST(!allowed("https://app.example.com",
                        "https://app.example.com.evil.net"));
    BOOST_TEST(!allowed("https://app.example.com", "null"));
}

BOOST_AUTO_TEST_CASE(wildcard_patterns)
{
    BOOST_TEST(allowed("*.example.com", "https://a.example.com"));
    BOOST_TEST(allowed("*.example.com", "http://a.b.example.com"));
    BOOST_TEST(!allowed("*.example.com", "https://example.com"));
    BOOST_TEST(!allowed("*.example.com", "https://aexample.com"));
    BOOST_TEST(!allowed("*.example.com", "wss://a.example.com"));
    BOOST_TEST(!allowed("*.example.com", "https://a.example.com:8443"));
    BOOST_TEST(allowed("https://*.example.net:8443",
                       "https://x.EXAMPLE.net:8443"));
    BOOST_TEST(!allowed("https://*.example.net:8443",
                        "http://x.example.net:8443"));
}

BOOST_AUTO_TEST_CASE(null_pattern)
{
    BOOST_TEST(allowed("null", "null"));
    BOOST_TEST(!allowed("null", "Null"));
    BOOST_TEST(!allowed("null", "https://null"));
}

BOOST_AUTO_TEST_CASE(refused_patterns_say_why)
{
    using E = OriginPatternError;
    OriginPattern p;
    BOOST_TEST((origin_pattern_parse("app.example.com", p) == E::no_scheme));
    BOOST_TEST((origin_pattern_parse("https://", p) == E::malformed));
    BOOST_TEST((origin_pattern_parse("https://a/b", p) == E::malformed));
    BOOST_TEST((origin_pattern_parse("", p) == E::malformed));
    BOOST_TEST((origin_pattern_parse("https://a.*.com", p)
                == E::misplaced_wildcard));
    BOOST_TEST((origin_pattern_parse("*.*.com", p) == E::misplaced_wildcard));
    BOOST_TEST((origin_pattern_parse("https://*", p)
                == E::misplaced_wildcard));
}

BOOST_AUTO_TEST_CASE(c_api)
{
    wscore_origin_pattern_t p;
    const std::string_view text = "https://*.example.com:8443";
    BOOST_TEST_REQUIRE(wscore_origin_pattern_parse(text.data(), text.size(),
                                                   &p)
                       == WSCORE_ORIGIN_PATTERN_OK);
    BOOST_TEST(p.kind == WSCORE_ORIGIN_WILDCARD);
    BOOST_TEST(std::string_view(p.host.data, p.host.len) == ".example.com");
    BOOST_TEST(std::string_view(p.port.data, p.port.len) == "8443");
    const std::string_view good = "https://a.example.com:8443";
    const std::string_view bad = "https://a.example.org:8443";
    BOOST_TEST(wscore_origin_match(&p, good.data(), good.size()) == 1);
    BOOST_TEST(wscore_origin_match(&p, bad.data(), bad.size()) == 0);
    BOOST_TEST(wscore_origin_match(&p, nullptr, 0) == 0);
    BOOST_TEST(wscore_origin_pattern_parse("x", 1, &p)
               == WSCORE_ORIGIN_PATTERN_NO_SCHEME);
    BOOST_TEST(wscore_origin_pattern_parse("https://a*", 10, &p)
               == WSCORE_ORIGIN_PATTERN_BAD_WILDCARD);
    BOOST_TEST(wscore_origin_pattern_parse(nullptr, 0, &p)
               == WSCORE_ORIGIN_PATTERN_MALFORMED);
    BOOST_TEST(wscore_origin_pattern_parse("null", 4, nullptr)
               == WSCORE_ORIGIN_PATTERN_MALFORMED);
}

BOOST_AUTO_TEST_SUITE_END()
