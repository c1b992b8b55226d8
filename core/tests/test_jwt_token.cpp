#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

#include "jwt_token.hpp"
#include "wscore.h"

using namespace wscore;
using namespace std::string_view_literals;

namespace {

std::string b64url(std::string_view raw)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned bits = 0;
    int held = 0;
    for (const char c : raw) {
        bits = (bits << 8) | static_cast<unsigned char>(c);
        held += 8;
        while (held >= 6) {
            held -= 6;
            out.push_back(alphabet[(bits >> held) & 63]);
        }
    }
    if (held > 0) {
        out.push_back(alphabet[(bits << (6 - held)) & 63]);
    }
    return out;
}

std::string token(std::string_view header, std::string_view payload,
    std::string_view sig = "sig")
{
    return b64url(header) + "." + b64url(payload) + "." + b64url(sig);
}

std::string why(std::string_view t)
{
    JwtReader r;
    JwtParts p;
    const char *e = r.parse(t, p);
    return e == nullptr ? "ok" : e;
}

constexpr std::int64_t now = 1'700'000'000;

std::string claims_why(std::string_view payload, const JwtPolicy &policy = {},
    JwtClaims *out = nullptr)
{
    static JwtReader r;
    JwtClaims c;
    const char *e = r.check_claims(payload, policy, now, c);
    if (out != nullptr) {
        *out = c;
    }
    return e == nullptr ? "ok" : e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(jwt_token)

BOOST_AUTO_TEST_CASE(good_token_parts)
{
    const std::string t = token(R"({"alg":"HS256","typ":"JWT"})",
                                R"({"sub":"alice"})", "\x01\x02\xff");
    JwtReader r;
    JwtParts p;
    BOOST_TEST_REQUIRE(r.parse(t, p) == nullptr);
    BOOST_TEST(p.alg == "HS256");
    BOOST_TEST(p.header == R"({"alg":"HS256","typ":"JWT"})");
    BOOST_TEST(p.payload == R"({"sub":"alice"})");
    BOOST_TEST(p.signature == "\x01\x02\xff"sv);
    BOOST_TEST(p.signing_input == t.substr(0, t.rfind('.')));
    // An empty signature is a form the verifier refuses, not the parser.
    BOOST_TEST(why(t.substr(0, t.rfind('.') + 1)) == "ok");
}

BOOST_AUTO_TEST_CASE(form_errors)
{
    const std::string h = b64url(R"({"alg":"HS256"})");
    const std::string p = b64url(R"({"sub":"a"})");
    BOOST_TEST(why("abc") == "malformed token (not three parts)");
    BOOST_TEST(why("a.b") == "malformed token (not three parts)");
    BOOST_TEST(why(".b.c") == "malformed token (not three parts)");
    BOOST_TEST(why("a..c") == "malformed token (not three parts)");
    BOOST_TEST(why("a.b.c.d") == "malformed token (more than three parts)");
    BOOST_TEST(why("a+b.c.d") == "malformed token (not base64url)");
    // The first offending byte decides.
    BOOST_TEST(why("a+b.c.d.e") == "malformed token (not base64url)");
    BOOST_TEST(why("a.b.c.d+") == "malformed token (more than three parts)");
    BOOST_TEST(why(h + "." + p + ".c=") == "malformed token (not base64url)");
    BOOST_TEST(why(std::string(9000, 'x') + ".a.b") == "token too long");
    BOOST_TEST(why("A." + p + ".c") == "malformed token (bad header encoding)");
    BOOST_TEST(why(h + ".A.c") == "malformed token (bad payload encoding)");
    BOOST_TEST(why(h + "." + p + ".AAAAA")
               == "malformed token (bad signature encoding)");
    BOOST_TEST(why(b64url("not json") + "." + p + ".c")
               == "malformed token (header is not a JSON object)");
    BOOST_TEST(why(b64url("[]") + "." + p + ".c")
               == "malformed token (header is not a JSON object)");
    BOOST_TEST(why(b64url(R"({"typ":"JWT"})") + "." + p + ".c")
               == "malformed token (no \"alg\" in the header)");
    BOOST_TEST(why(b64url(R"({"alg":256})") + "." + p + ".c")
               == "malformed token (no \"alg\" in the header)");
    BOOST_TEST(why(h + "." + b64url("not json") + ".c")
               == "malformed token (payload is not a JSON object, or repeats "
                  "a claim)");
    BOOST_TEST(why(h + "." + b64url(R"({"sub":"a","sub":"b"})") + ".c")
               == "malformed token (payload is not a JSON object, or repeats "
                  "a claim)");
    BOOST_TEST(why(token(R"({"alg":"HS256","crit":["exp"]})", "{}"))
               == "token has critical header extensions");
    BOOST_TEST(why(token(R"({"alg":"HS256","crit":null})", "{}"))
               == "token has critical header extensions");
    // max_len bytes are parsed (and fail later), one more is too long.
    BOOST_TEST(why(std::string(JwtReader::max_len - 5, 'A') + ".AA.B")
               == "malformed token (header is not a JSON object)");
    BOOST_TEST(why(std::string(JwtReader::max_len - 4, 'A') + ".AA.B")
               == "token too long");
}

BOOST_AUTO_TEST_CASE(time_claims)
{
    JwtClaims c;
    BOOST_TEST(claims_why("{}", {}, &c) == "ok");
    BOOST_TEST(c.exp == 0);
    BOOST_TEST(c.sub.empty());
    BOOST_TEST(claims_why(R"({"exp":1700000060.5})", {}, &c) == "ok");
    BOOST_TEST(c.exp == 1700000060);
    BOOST_TEST(claims_why(R"({"exp":1e300})", {}, &c) == "ok");
    BOOST_TEST(c.exp == 1'000'000'000'000);
    // Expired at exp itself (RFC 7519 section 4.1.4).
    BOOST_TEST(claims_why(R"({"exp":1700000000})") == "token expired");
    BOOST_TEST(claims_why(R"({"exp":1699999999})") == "token expired");
    JwtPolicy lenient;
    lenient.leeway_s = 30;
    BOOST_TEST(claims_why(R"({"exp":1699999999})", lenient) == "ok");
    BOOST_TEST(claims_why(R"({"exp":1699999970})", lenient)
               == "token expired");
    BOOST_TEST(claims_why(R"({"exp":"tomorrow"})")
               == "\"exp\" is not a NumericDate");
    BOOST_TEST(claims_why(R"({"exp":-1})") == "\"exp\" is not a NumericDate");
    BOOST_TEST(claims_why(R"({"nbf":1700000001})")
               == "token not valid yet (nbf)");
    BOOST_TEST(claims_why(R"({"nbf":1700000000})") == "ok");
    BOOST_TEST(claims_why(R"({"nbf":1700000030})", lenient) == "ok");
    BOOST_TEST(claims_why(R"({"nbf":-5})") == "ok");
    BOOST_TEST(claims_why(R"({"nbf":true})")
               == "\"nbf\" is not a NumericDate");
    BOOST_TEST(claims_why(R"({"exp":1800000000,"exp":1})")
               == "malformed token (payload is not a JSON object, or repeats "
                  "a claim)");
}

BOOST_AUTO_TEST_CASE(issuer_and_audience)
{
    JwtPolicy p;
    p.issuer = "https://idp";
    p.audience = "ws";
    BOOST_TEST(claims_why(R"({"iss":"https://idp","aud":"ws"})", p) == "ok");
    BOOST_TEST(claims_why(R"({"iss":"https://idp","aud":["x","ws"]})", p)
               == "ok");
    BOOST_TEST(claims_why(R"({"aud":"ws"})", p)
               == "wrong or missing issuer (iss)");
    BOOST_TEST(claims_why(R"({"iss":"https://IDP","aud":"ws"})", p)
               == "wrong or missing issuer (iss)");
    BOOST_TEST(claims_why(R"({"iss":["https://idp"],"aud":"ws"})", p)
               == "wrong or missing issuer (iss)");
    BOOST_TEST(claims_why(R"({"iss":"https://idp"})", p)
               == "wrong or missing audience (aud)");
    BOOST_TEST(claims_why(R"({"iss":"https://idp","aud":["x"]})", p)
               == "wrong or missing audience (aud)");
    BOOST_TEST(claims_why(R"({"iss":"https://idp","aud":["ws",1]})", p)
               == "wrong or missing audience (aud)");
    // Not configured: not checked.
    BOOST_TEST(claims_why(R"({"iss":5,"aud":5})") == "ok");
}

BOOST_AUTO_TEST_CASE(subject)
{
    JwtClaims c;
    BOOST_TEST(claims_why(R"({"sub":"al\u0069ce"})", {}, &c) == "ok");
    BOOST_TEST(c.sub == "alice");
    const std::string longest(250, 'u');
    BOOST_TEST(claims_why(R"({"sub":")" + longest + R"("})", {}, &c) == "ok");
    BOOST_TEST(c.sub == longest);
    for (const std::string &bad :
         {std::string{R"({"sub":5})"}, std::string{R"({"sub":""})"},
          R"({"sub":")" + longest + R"(u"})"}) {
        BOOST_TEST(claims_why(bad) == "\"sub\" is not a string of 1-250 bytes");
    }
}

BOOST_AUTO_TEST_CASE(c_api)
{
    wscore_jwt_reader_t *j = wscore_jwt_reader_create();
    BOOST_TEST_REQUIRE(j != nullptr);
    const std::string t = token(R"({"alg":"EdDSA"})",
        R"({"sub":"bob","exp":1700000100,"aud":["ws"]})", "s");
    wscore_jwt_parts_t parts;
    const char *why = "unset";
    BOOST_TEST_REQUIRE(wscore_jwt_parse(j, t.data(), t.size(), &parts, &why)
                       == WSCORE_OK);
    BOOST_TEST(why == nullptr);
    BOOST_TEST(std::string_view(parts.alg.data, parts.alg.len) == "EdDSA");
    BOOST_TEST(std::string_view(parts.signature.data, parts.signature.len)
               == "s");
    const std::string payload(parts.payload.data, parts.payload.len);

    wscore_jwt_policy_t policy{{nullptr, 0}, {"ws", 2}, 0};
    wscore_jwt_claims_t claims;
    BOOST_TEST_REQUIRE(wscore_jwt_check_claims(j, &policy, payload.data(),
        payload.size(), now, &claims, &why) == WSCORE_OK);
    BOOST_TEST(claims.exp == 1700000100);
    BOOST_TEST(std::string_view(claims.sub.data, claims.sub.len) == "bob");
    BOOST_TEST(wscore_jwt_check_claims(j, &policy, payload.data(),
        payload.size(), now + 100, &claims, &why) == WSCORE_ERROR);
    BOOST_TEST(std::string_view{why} == "token expired");

    const std::string none = R"({"aud":"ws"})";
    BOOST_TEST(wscore_jwt_check_claims(j, &policy, none.data(), none.size(),
        now, &claims, nullptr) == WSCORE_OK);
    BOOST_TEST(claims.sub.data == nullptr);

    BOOST_TEST(wscore_jwt_parse(j, "a.b", 3, &parts, &why) == WSCORE_ERROR);
    BOOST_TEST(std::string_view{why} == "malformed token (not three parts)");
    BOOST_TEST(wscore_jwt_parse(nullptr, t.data(), t.size(), &parts, nullptr)
               == WSCORE_ERROR);
    wscore_jwt_reader_destroy(j);
}

BOOST_AUTO_TEST_SUITE_END()
