#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "jwt_claims.hpp"

using namespace wscore;

namespace {

std::string text_of(const wscore_claim_t &c)
{
    return std::string{c.text.data, c.text.len};
}

std::vector<std::string> strings_of(ClaimsReader &r, std::string_view json,
    std::string_view name, long &n)
{
    std::vector<std::string> out;
    n = r.strings(json, name,
                  [&out](std::string_view s) { out.emplace_back(s); });
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(jwt_claims)

BOOST_AUTO_TEST_CASE(reads_each_type)
{
    ClaimsReader r;
    const std::string_view json =
        R"({"sub":"al\u0069ce","exp":1700000000,"f":1.5,"b":true,)"
        R"("n":null,"a":["x",1],"o":{"k": "v"}})";
    wscore_claim_t c{};

    BOOST_TEST(r.get(json, "sub", c));
    BOOST_TEST(c.type == WSCORE_CLAIM_STRING);
    BOOST_TEST(text_of(c) == "alice");

    BOOST_TEST(r.get(json, "exp", c));
    BOOST_TEST(c.type == WSCORE_CLAIM_NUMBER);
    BOOST_TEST(c.number == 1700000000.0);
    BOOST_TEST(text_of(c) == "1700000000");

    BOOST_TEST(r.get(json, "f", c));
    BOOST_TEST(c.type == WSCORE_CLAIM_NUMBER);
    BOOST_TEST(c.number == 1.5);

    BOOST_TEST(r.get(json, "b", c));
    BOOST_TEST(c.type == WSCORE_CLAIM_BOOL);
    BOOST_TEST(text_of(c) == "true");

    BOOST_TEST(r.get(json, "n", c));
    BOOST_TEST(c.type == WSCORE_CLAIM_NULL);

    BOOST_TEST(r.get(json, "a", c));
    BOOST_TEST(c.type == WSCORE_CLAIM_ARRAY);
    BOOST_TEST(text_of(c) == R"(["x",1])");

    BOOST_TEST(r.get(json, "o", c));
    BOOST_TEST(c.type == WSCORE_CLAIM_OBJECT);
    BOOST_TEST(text_of(c) == R"({"k":"v"})");

    BOOST_TEST(r.get(json, "missing", c));
    BOOST_TEST(c.type == WSCORE_CLAIM_ABSENT);
}

BOOST_AUTO_TEST_CASE(refuses_what_is_not_one_valid_object)
{
    ClaimsReader r;
    wscore_claim_t c{};
    for (std::string_view bad : {
             std::string_view{""}, std::string_view{"[]"},
             std::string_view{"\"sub\""}, std::string_view{"{"},
             std::string_view{R"({"sub":"a",})"},
             std::string_view{R"({"sub":"a"} {"sub":"b"})"},
             // invalid elsewhere than in the member asked for
             std::string_view{R"({"sub":"a","x":[1,]})"},
             std::string_view{"{\"sub\":\"\xff\"}"},
             // a repeated member is ambiguous
             std::string_view{R"({"sub":"a","sub":"b"})"}}) {
        BOOST_TEST(!r.get(bad, "sub", c), bad);
    }
    const std::string big = R"({"x":")" + std::string(20000, 'a') + R"("})";
    BOOST_TEST(!r.get(big, "x", c));
}

BOOST_AUTO_TEST_CASE(strings_of_a_string_or_an_array)
{
    ClaimsReader r;
    long n = 0;
    auto v = strings_of(r, R"({"aud":"api"})", "aud", n);
    BOOST_TEST(n == 1);
    BOOST_TEST(v == std::vector<std::string>({"api"}));

    v = strings_of(r, R"({"aud":["api","web"]})", "aud", n);
    BOOST_TEST(n == 2);
    BOOST_TEST(v == std::vector<std::string>({"api", "web"}));

    v = strings_of(r, R"({"aud":[]})", "aud", n);
    BOOST_TEST(n == 0);

    v = strings_of(r, R"({"sub":"x"})", "aud", n);
    BOOST_TEST(n == 0);

    // anything but strings: nothing is visited
    v = strings_of(r, R"({"aud":["api",1]})", "aud", n);
    BOOST_TEST(n == -1);
    BOOST_TEST(v.empty());
    v = strings_of(r, R"({"aud":5})", "aud", n);
    BOOST_TEST(n == -1);
    v = strings_of(r, R"({"aud":"a","aud":"b"})", "aud", n);
    BOOST_TEST(n == -1);
    v = strings_of(r, "not json", "aud", n);
    BOOST_TEST(n == -1);
}

BOOST_AUTO_TEST_CASE(c_api)
{
    wscore_jwt_reader_t *j = wscore_jwt_reader_create();
    BOOST_TEST_REQUIRE(j != nullptr);
    const std::string json = R"({"sub":"bob","channels":["room:*","news"]})";
    wscore_claim_t c{};
    BOOST_TEST(wscore_claim_get(j, json.data(), json.size(), "sub", 3, &c)
               == WSCORE_OK);
    BOOST_TEST(text_of(c) == "bob");
    BOOST_TEST(wscore_claim_get(j, "x", 1, "sub", 3, &c) == WSCORE_ERROR);
    // an empty payload may come without a buffer: refused, never read
    BOOST_TEST(wscore_claim_get(j, nullptr, 0, "sub", 3, &c) == WSCORE_ERROR);
    BOOST_TEST(wscore_claim_strings(j, nullptr, 0, "channels", 8,
                                    [](void *, const char *, size_t) {},
                                    nullptr, nullptr) == WSCORE_ERROR);
    BOOST_TEST(wscore_claim_get(j, json.data(), json.size(), "sub", 3,
                                nullptr) == WSCORE_ERROR);
    BOOST_TEST(wscore_claim_get(nullptr, json.data(), json.size(), "sub", 3,
                                &c) == WSCORE_ERROR);

    std::vector<std::string> seen;
    auto visit = [](void *ctx, const char *s, size_t len) {
        static_cast<std::vector<std::string> *>(ctx)->emplace_back(s, len);
    };
    size_t n = 99;
    BOOST_TEST(wscore_claim_strings(j, json.data(), json.size(), "channels",
                                    8, visit, &seen, &n) == WSCORE_OK);
    BOOST_TEST(n == 2u);
    BOOST_TEST(seen == std::vector<std::string>({"room:*", "news"}));
    BOOST_TEST(wscore_claim_strings(j, json.data(), json.size(), "nope", 4,
                                    visit, &seen, &n) == WSCORE_OK);
    BOOST_TEST(n == 0u);
    BOOST_TEST(wscore_claim_strings(j, json.data(), json.size(), "sub", 3,
                                    visit, &seen, &n) == WSCORE_OK);
    BOOST_TEST(n == 1u);
    BOOST_TEST(wscore_claim_strings(j, "[1]", 3, "sub", 3, visit, &seen, &n)
               == WSCORE_ERROR);
    BOOST_TEST(n == 0u);
    wscore_jwt_reader_destroy(j);
}

BOOST_AUTO_TEST_CASE(readers_are_independent)
{
    // Two handles: a lookup on one leaves the other's text in place, so a
    // caller never has to copy a result before its next call elsewhere.
    wscore_jwt_reader_t *a = wscore_jwt_reader_create();
    wscore_jwt_reader_t *b = wscore_jwt_reader_create();
    BOOST_TEST_REQUIRE((a != nullptr && b != nullptr));
    const std::string one = R"({"sub":"one"})";
    const std::string two = R"({"sub":"two"})";
    wscore_claim_t ca{}, cb{};
    BOOST_TEST(wscore_claim_get(a, one.data(), one.size(), "sub", 3, &ca)
               == WSCORE_OK);
    BOOST_TEST(wscore_claim_get(b, two.data(), two.size(), "sub", 3, &cb)
               == WSCORE_OK);
    BOOST_TEST(text_of(ca) == "one");
    BOOST_TEST(text_of(cb) == "two");
    wscore_jwt_reader_destroy(a);
    wscore_jwt_reader_destroy(b);
}

BOOST_AUTO_TEST_SUITE_END()
