// The extern "C" face of the Origin check (wscore.h, "Origin check").

#include "wscore.h"

#include <string_view>

#include "c_api_strings.hpp"
#include "origin.hpp"

namespace {

using wscore::c_api::str_of;
using wscore::c_api::view_of;

wscore_origin_kind_e kind_of(wscore::OriginPattern::Kind k) noexcept
{
    switch (k) {
    case wscore::OriginPattern::Kind::wildcard:
        return WSCORE_ORIGIN_WILDCARD;
    case wscore::OriginPattern::Kind::null_origin:
        return WSCORE_ORIGIN_NULL;
    default:
        return WSCORE_ORIGIN_EXACT;
    }
}

wscore::OriginPattern::Kind kind_of(wscore_origin_kind_e k) noexcept
{
    switch (k) {
    case WSCORE_ORIGIN_WILDCARD:
        return wscore::OriginPattern::Kind::wildcard;
    case WSCORE_ORIGIN_NULL:
        return wscore::OriginPattern::Kind::null_origin;
    default:
        return wscore::OriginPattern::Kind::exact;
    }
}

}  // namespace

extern "C" {

wscore_origin_pattern_rc_e wscore_origin_pattern_parse(const char *text,
    size_t len, wscore_origin_pattern_t *pattern)
{
    if (pattern == nullptr) {
        return WSCORE_ORIGIN_PATTERN_MALFORMED;
    }
    wscore::OriginPattern parsed;
    switch (wscore::origin_pattern_parse(view_of(text, len), parsed)) {
    case wscore::OriginPatternError::none:
        break;
    case wscore::OriginPatternError::no_scheme:
        return WSCORE_ORIGIN_PATTERN_NO_SCHEME;
    case wscore::OriginPatternError::misplaced_wildcard:
        return WSCORE_ORIGIN_PATTERN_BAD_WILDCARD;
    default:
        return WSCORE_ORIGIN_PATTERN_MALFORMED;
    }
    pattern->kind = kind_of(parsed.kind);
    pattern->scheme = str_of(parsed.scheme);
    pattern->host = str_of(parsed.host);
    pattern->port = str_of(parsed.port);
    return WSCORE_ORIGIN_PATTERN_OK;
}

int wscore_origin_match(const wscore_origin_pattern_t *pattern,
    const char *origin, size_t len)
{
    if (pattern == nullptr) {
        return 0;
    }
    const wscore::OriginPattern p{kind_of(pattern->kind),
        view_of(pattern->scheme), view_of(pattern->host),
        view_of(pattern->port)};
    return wscore::origin_matches(p, view_of(origin, len)) ? 1 : 0;
}

}  // extern "C"
