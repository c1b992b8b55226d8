// The JWS compact serialization of a JSON Web Token (RFC 7515 section 7.1,
// RFC 7519) and the claim policy a server applies to it. Signatures are
// not computed here: the glue verifies signing_input against signature
// with the configured key (libjwt, OpenSSL), using the algorithm of the
// KEY, after checking that the header's "alg" names it: the token alone
// never chooses the algorithm (no "none", no RS256-to-HS256 confusion).
//
// Rules, in the order they are checked (the first broken one is reported):
// - at most max_len bytes, base64url segments, exactly two dots, header
//   and payload not empty;
// - header and payload decode, and are JSON objects (simdjson validates
//   the whole document);
// - the header has a string "alg" and no "crit": extensions we do not
//   understand must not be ignored (RFC 7515 section 4.1.11);
// - the payload does not repeat a claim the policy reads;
// - the signature segment decodes.
//
// Claim policy (RFC 7519 section 4.1): "exp" and "nbf" NumericDates with
// a leeway, "iss" and "aud" when configured, "sub" a non-empty string of
// bounded length (it becomes a user channel name).

#ifndef WSCORE_JWT_TOKEN_HPP
#define WSCORE_JWT_TOKEN_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "channel_name.hpp"
#include "jwt_claims.hpp"

namespace wscore {

struct JwtParts {
    std::string_view alg;            // the header's "alg"
    std::string_view signing_input;  // "header.payload" of the token
    std::string_view header;         // decoded JSON
    std::string_view payload;        // decoded JSON
    std::string_view signature;      // decoded bytes (may be empty)
};

struct JwtPolicy {
    std::string_view issuer;         // empty: "iss" not checked
    std::string_view audience;       // empty: "aud" not checked
    std::uint64_t leeway_s = 0;      // clock skew allowed on exp and nbf
};

struct JwtClaims {
    std::int64_t exp = 0;            // 0: none; else at most 10^12
    std::string_view sub;            // empty: none
};

// One per worker (or thread): the decoded parts and the JSON parser live
// here, reused from token to token.
class JwtReader {
public:
    static constexpr std::size_t max_len = 8192;
    // "sub" names the user channel "user:<sub>", a channel name.
    static constexpr std::size_t max_sub_len = max_channel_name_len - 5;

    // Checks the form; parts point into token and into this reader, valid
    // until the next parse. Returns nullptr, or why the token is refused
    // (a static string for the log).
    const char *parse(std::string_view token, JwtParts &parts) noexcept;

    // Applies the policy to a payload (from parse, or a copy of it) at
    // now_s (seconds since the epoch). claims.sub points into this reader
    // until its next call. Returns nullptr, or why not.
    const char *check_claims(std::string_view payload,
        const JwtPolicy &policy, std::int64_t now_s, JwtClaims &claims)
        noexcept;

    ClaimsReader &claims_reader() noexcept { return claims_; }

private:
    ClaimsReader claims_;
    std::string header_;
    std::string payload_;
    std::string signature_;
    std::string alg_;
    std::string sub_;
};

}  // namespace wscore

#endif
