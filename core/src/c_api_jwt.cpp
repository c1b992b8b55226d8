// The extern "C" face of the token reader (wscore.h, "Tokens"): JWT
// compact form, claim policy and claim lookups, all on a handle the
// caller owns (one per NGINX worker).

#include "wscore.h"

#include <new>
#include <string_view>

#include "c_api_strings.hpp"
#include "channel_acl.hpp"
#include "jwt_token.hpp"

struct wscore_jwt_reader_s {
    wscore::JwtReader reader;
};

namespace {

using wscore::c_api::str_of;
using wscore::c_api::view_of;

wscore_rc_t refused(const char *error, const char **why) noexcept
{
    if (why != nullptr) {
        *why = error;
    }
    return error == nullptr ? WSCORE_OK : WSCORE_ERROR;
}

}  // namespace

extern "C" {

wscore_jwt_reader_t *wscore_jwt_reader_create(void)
{
    return new (std::nothrow) wscore_jwt_reader_s{};
}

void wscore_jwt_reader_destroy(wscore_jwt_reader_t *j)
{
    delete j;
}

wscore_rc_t wscore_jwt_parse(wscore_jwt_reader_t *j, const char *token,
    size_t len, wscore_jwt_parts_t *parts, const char **why)
{
    if (j == nullptr || parts == nullptr) {
        return refused("no reader", why);
    }
    wscore::JwtParts p;
    const char *error = j->reader.parse(view_of(token, len), p);
    if (error == nullptr) {
        parts->alg = str_of(p.alg);
        parts->signing_input = str_of(p.signing_input);
        parts->header = str_of(p.header);
        parts->payload = str_of(p.payload);
        parts->signature = str_of(p.signature);
    }
    return refused(error, why);
}

wscore_rc_t wscore_jwt_check_claims(wscore_jwt_reader_t *j,
    const wscore_jwt_policy_t *policy, const char *payload, size_t len,
    int64_t now_s, wscore_jwt_claims_t *claims, const char **why)
{
    if (j == nullptr || policy == nullptr || claims == nullptr) {
        return refused("no reader", why);
    }
    const wscore::JwtPolicy p{view_of(policy->issuer),
        view_of(policy->audience), policy->leeway_s};
    wscore::JwtClaims c;
    const char *error = j->reader.check_claims(view_of(payload, len), p,
        now_s, c);
    if (error == nullptr) {
        claims->exp = c.exp;
        claims->sub = c.sub.empty() ? wscore_str_t{nullptr, 0} : str_of(c.sub);
    }
    return refused(error, why);
}

wscore_rc_t wscore_claim_get(wscore_jwt_reader_t *j, const char *json,
    size_t len, const char *name, size_t nlen, wscore_claim_t *claim)
{
    if (j == nullptr || claim == nullptr) {
        return WSCORE_ERROR;
    }
    return j->reader.claims_reader().get(view_of(json, len),
        view_of(name, nlen), *claim) ? WSCORE_OK : WSCORE_ERROR;
}

wscore_rc_t wscore_claim_strings(wscore_jwt_reader_t *j, const char *json,
    size_t len, const char *name, size_t nlen, wscore_claim_visit_pt visit,
    void *ctx, size_t *count)
{
    if (count != nullptr) {
        *count = 0;
    }
    if (j == nullptr) {
        return WSCORE_ERROR;
    }
    const long n = j->reader.claims_reader().strings(view_of(json, len),
        view_of(name, nlen), [visit, ctx](std::string_view s) {
            if (visit != nullptr) {
                visit(ctx, s.data(), s.size());
            }
        });
    if (n < 0) {
        return WSCORE_ERROR;
    }
    if (count != nullptr) {
        *count = static_cast<size_t>(n);
    }
    return WSCORE_OK;
}

int wscore_claim_allows_channel(wscore_jwt_reader_t *j, const char *json,
    size_t len, const char *claim, size_t clen, const char *channel,
    size_t chlen)
{
    if (j == nullptr) {
        return 0;
    }
    return wscore::claim_allows_channel(j->reader.claims_reader(),
        view_of(json, len), view_of(claim, clen), view_of(channel, chlen))
        ? 1 : 0;
}

}  // extern "C"
