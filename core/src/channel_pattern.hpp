// Channel name patterns for allow-lists ("room:*", "user:???"): glob
// matching over bytes with '*' (any run, also empty) and '?' (one byte).
// There is no escape: channel names are configuration-chosen identifiers,
// and a literal '*' or '?' in them is not worth the ambiguity.

#ifndef WSCORE_CHANNEL_PATTERN_HPP
#define WSCORE_CHANNEL_PATTERN_HPP

#include <string_view>

namespace wscore {

// Does name match pattern as a whole (not a substring)? Works on bytes,
// so '?' matches one byte of a multi-byte UTF-8 character. At worst
// O(pattern * name) steps, without recursion or allocation, so a hostile
// name cannot make an allow-list check expensive.
bool channel_pattern_matches(std::string_view pattern, std::string_view name)
    noexcept;

}  // namespace wscore

#endif
