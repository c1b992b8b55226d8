#include "channel_acl.hpp"

#include "channel_pattern.hpp"
#include "jwt_claims.hpp"

namespace wscore {

bool claim_allows_channel(ClaimsReader &reader, std::string_view claims_json,
    std::string_view claim, std::string_view channel) noexcept
{
    bool allowed = false;
    const long n = reader.strings(claims_json, claim,
        [&allowed, channel](std::string_view pattern) {
            allowed = allowed || channel_pattern_matches(pattern, channel);
        });
    return n > 0 && allowed;
}

}  // namespace wscore
