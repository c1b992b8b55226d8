#include "jwt_token.hpp"

#include "base64url.hpp"

namespace wscore {

namespace {

constexpr const char *malformed_payload =
    "malformed token (payload is not a JSON object, or repeats a claim)";

// NumericDates past this (year 33658) are held as this: far enough.
constexpr double max_exp = 1e12;

}  // namespace

const char *JwtReader::parse(std::string_view token, JwtParts &parts)
    noexcept
{
    if (token.size() > max_len) {
        return "token too long";
    }
    // One pass, so the first offending byte decides which error is told.
    constexpr std::size_t none = std::string_view::npos;
    std::size_t dot1 = none;
    std::size_t dot2 = none;
    for (std::size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '.') {
            if (dot1 == none) {
                dot1 = i;
            } else if (dot2 == none) {
                dot2 = i;
            } else {
                return "malformed token (more than three parts)";
            }
        } else if (!base64url_alphabet(token.substr(i, 1))) {
            return "malformed token (not base64url)";
        }
    }
    if (dot2 == none || dot1 == 0 || dot2 == dot1 + 1) {
        return "malformed token (not three parts)";
    }

    try {
        if (!base64url_decode(token.substr(0, dot1), header_)) {
            return "malformed token (bad header encoding)";
        }
        if (!base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1),
                              payload_)) {
            return "malformed token (bad payload encoding)";
        }

        wscore_claim_t claim;
        if (!claims_.get(header_, "alg", claim)) {
            return "malformed token (header is not a JSON object)";
        }
        if (claim.type != WSCORE_CLAIM_STRING) {
            return "malformed token (no \"alg\" in the header)";
        }
        alg_.assign(claim.text.data, claim.text.len);

        if (!claims_.get(payload_, "sub", claim)) {
            return malformed_payload;
        }
        if (!claims_.get(header_, "crit", claim)
            || claim.type != WSCORE_CLAIM_ABSENT) {
            return "token has critical header extensions";
        }
        if (!base64url_decode(token.substr(dot2 + 1), signature_)) {
            return "malformed token (bad signature encoding)";
        }
    } catch (...) {
        return "out of memory";
    }

    parts.alg = alg_;
    parts.signing_input = token.substr(0, dot2);
    parts.header = header_;
    parts.payload = payload_;
    parts.signature = signature_;
    return nullptr;
}

const char *JwtReader::check_claims(std::string_view payload,
    const JwtPolicy &policy, std::int64_t now_s, JwtClaims &claims) noexcept
{
    const double now = static_cast<double>(now_s);
    const double leeway = static_cast<double>(policy.leeway_s);
    wscore_claim_t c;

    claims = JwtClaims{};
    if (!claims_.get(payload, "exp", c)) {
        return malformed_payload;
    }
    if (c.type != WSCORE_CLAIM_ABSENT) {
        if (c.type != WSCORE_CLAIM_NUMBER || c.number < 0) {
            return "\"exp\" is not a NumericDate";
        }
        // Expired when now is at or after exp (RFC 7519 section 4.1.4).
        if (now >= c.number + leeway) {
            return "token expired";
        }
        claims.exp = static_cast<std::int64_t>(
            c.number > max_exp ? max_exp : c.number);
    }

    if (!claims_.get(payload, "nbf", c)) {
        return malformed_payload;
    }
    if (c.type != WSCORE_CLAIM_ABSENT) {
        if (c.type != WSCORE_CLAIM_NUMBER) {
            return "\"nbf\" is not a NumericDate";
        }
        if (now + leeway < c.number) {
            return "token not valid yet (nbf)";
        }
    }

    if (!policy.issuer.empty()) {
        if (!claims_.get(payload, "iss", c) || c.type != WSCORE_CLAIM_STRING
            || std::string_view{c.text.data, c.text.len} != policy.issuer) {
            return "wrong or missing issuer (iss)";
        }
    }

    if (!policy.audience.empty()) {
        bool found = false;
        const long n = claims_.strings(payload, "aud",
            [&found, &policy](std::string_view aud) {
                found = found || aud == policy.audience;
            });
        if (n <= 0 || !found) {
            return "wrong or missing audience (aud)";
        }
    }

    if (!claims_.get(payload, "sub", c)) {
        return malformed_payload;
    }
    if (c.type != WSCORE_CLAIM_ABSENT) {
        static_assert(max_sub_len == 250, "the message below says 250");
        if (c.type != WSCORE_CLAIM_STRING || c.text.len == 0
            || c.text.len > max_sub_len) {
            return "\"sub\" is not a string of 1-250 bytes";
        }
        try {
            sub_.assign(c.text.data, c.text.len);
        } catch (...) {
            return "out of memory";
        }
        claims.sub = sub_;
    }
    return nullptr;
}

}  // namespace wscore
