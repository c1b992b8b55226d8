// Channel permissions carried by a token: a claim (e.g. "channels") that
// holds one pattern or a list of patterns, in the syntax of the
// allow-lists (channel_pattern.hpp). A channel is allowed when one of the
// patterns matches it. A missing claim, or one that is not a string or a
// list of strings, allows nothing: a token that says nothing grants
// nothing.

#ifndef WSCORE_CHANNEL_ACL_HPP
#define WSCORE_CHANNEL_ACL_HPP

#include <string_view>

namespace wscore {

class ClaimsReader;

bool claim_allows_channel(ClaimsReader &reader, std::string_view claims_json,
    std::string_view claim, std::string_view channel) noexcept;

}  // namespace wscore

#endif
