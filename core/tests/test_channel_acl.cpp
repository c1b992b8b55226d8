#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

#include "channel_acl.hpp"
#include "jwt_claims.hpp"

using namespace wscore;

BOOST_AUTO_TEST_SUITE(channel_acl)

BOOST_AUTO_TEST_CASE(a_list_of_patterns)
{
    ClaimsReader r;
    const std::string_view claims =
        R"({"sub":"al","channels":["room:*","news","user:al"]})";
    BOOST_TEST(claim_allows_channel(r, claims, "channels", "room:1"));
    BOOST_TEST(claim_allows_channel(r, claims, "channels", "room:"));
    BOOST_TEST(claim_allows_channel(r, claims, "channels", "news"));
    BOOST_TEST(claim_allows_channel(r, claims, "channels", "user:al"));
    BOOST_TEST(!claim_allows_channel(r, claims, "channels", "user:bo"));
    BOOST_TEST(!claim_allows_channel(r, claims, "channels", "newsroom"));
    BOOST_TEST(!claim_allows_channel(r, claims, "channels", "Room:1"));
}

BOOST_AUTO_TEST_CASE(one_pattern_as_a_string)
{
    ClaimsReader r;
    const std::string_view claims = R"({"ch":"team-?:*"})";
    BOOST_TEST(claim_allows_channel(r, claims, "ch", "team-a:x"));
    BOOST_TEST(!claim_allows_channel(r, claims, "ch", "team-ab:x"));
}

BOOST_AUTO_TEST_CASE(nothing_said_nothing_granted)
{
    ClaimsReader r;
    for (std::string_view claims :
         {R"({"sub":"a"})", R"({"channels":[]})", R"({"channels":5})",
          R"({"channels":["room:*",5]})", R"({"channels":{"room:*":1}})",
          R"({"channels":null})", "not json",
          R"({"channels":"*","channels":"x"})"}) {
        BOOST_TEST(!claim_allows_channel(r, claims, "channels", "room:1"),
                   claims);
    }
}

BOOST_AUTO_TEST_CASE(c_api)
{
    wscore_jwt_reader_t *j = wscore_jwt_reader_create();
    BOOST_TEST_REQUIRE(j != nullptr);
    const std::string claims = R"({"channels":["a:*"]})";
    BOOST_TEST(wscore_claim_allows_channel(j, claims.data(), claims.size(),
                                           "channels", 8, "a:1", 3) == 1);
    BOOST_TEST(wscore_claim_allows_channel(j, claims.data(), claims.size(),
                                           "channels", 8, "b:1", 3) == 0);
    BOOST_TEST(wscore_claim_allows_channel(nullptr, claims.data(),
                                           claims.size(), "channels", 8,
                                           "a:1", 3) == 0);
    wscore_jwt_reader_destroy(j);
}

BOOST_AUTO_TEST_SUITE_END()
