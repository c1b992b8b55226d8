// The Origin check of the opening handshake (RFC 6455 section 10.2,
// RFC 6454 for the serialization): which pages may open a WebSocket.
//
// A pattern is "scheme://host[:port]", "[scheme://]*.domain[:port]" (any
// host below domain, not domain itself; without a scheme http and https
// both match) or "null" (the opaque origin of sandboxed frames and file:
// pages). Hosts and schemes compare without regard to case; ports as
// written. Regular expressions are the glue's business (NGINX's PCRE).

#ifndef WSCORE_ORIGIN_HPP
#define WSCORE_ORIGIN_HPP

#include <string_view>

namespace wscore {

// The parts of "scheme://host[:port]" (no path, no user info); views into
// the text parsed.
struct OriginParts {
    std::string_view scheme;   // empty when a pattern leaves it out
    std::string_view host;     // "[::1]" keeps its brackets
    std::string_view port;     // empty: none
};

// Splits an Origin header value. False when it is not a serialized origin
// (then the only pattern it can match is "null", by its text).
bool origin_split(std::string_view origin, OriginParts &parts) noexcept;

struct OriginPattern {
    enum class Kind { exact, wildcard, null_origin };
    Kind kind = Kind::exact;
    std::string_view scheme;   // empty (wildcards only): http or https
    std::string_view host;     // wildcard: the suffix ".example.com"
    std::string_view port;
};

enum class OriginPatternError {
    none,
    malformed,           // not "[scheme://]host[:port]" nor "null"
    no_scheme,           // only wildcards may leave the scheme out
    misplaced_wildcard,  // '*' may only stand for the leading labels
};

// Parses a configured pattern; pattern's views point into text.
OriginPatternError origin_pattern_parse(std::string_view text,
    OriginPattern &pattern) noexcept;

// Does the Origin header value origin match pattern?
bool origin_matches(const OriginPattern &pattern, std::string_view origin)
    noexcept;

}  // namespace wscore

#endif
