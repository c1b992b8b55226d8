#include "origin.hpp"

#include <algorithm>
#include <cstddef>

namespace wscore {

namespace {

char lower(char c) noexcept
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequal(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size()
        && std::equal(a.begin(), a.end(), b.begin(),
               [](char x, char y) { return lower(x) == lower(y); });
}

// Splits "[scheme://]host[:port]"; a scheme is required unless
// scheme_optional.
bool split(std::string_view text, bool scheme_optional, OriginParts &parts)
    noexcept
{
    parts = OriginParts{};
    std::string_view rest = text;
    const std::size_t sep = text.find("://");
    if (sep != std::string_view::npos) {
        if (sep == 0) {
            return false;
        }
        parts.scheme = text.substr(0, sep);
        rest = text.substr(sep + 3);
    } else if (!scheme_optional) {
        return false;
    }

    std::size_t host_end = rest.size();
    if (!rest.empty() && rest.front() == '[') {
        // An IPv6 literal: the port's colon comes after the "]".
        const std::size_t close = rest.find(']');
        if (close == std::string_view::npos) {
            return false;
        }
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':') {
                return false;
            }
            host_end = close + 1;
        }
    } else {
        host_end = std::min(rest.find(':'), rest.size());
    }

    parts.host = rest.substr(0, host_end);
    if (parts.host.empty()) {
        return false;
    }
    for (const char c : parts.host) {
        const auto b = static_cast<unsigned char>(c);
        if (c == '/' || c == '@' || b <= ' ' || b >= 0x7f) {
            return false;
        }
    }

    if (host_end < rest.size()) {
        parts.port = rest.substr(host_end + 1);
        if (parts.port.empty() || parts.port.size() > 5) {
            return false;
        }
        for (const char c : parts.port) {
            if (c < '0' || c > '9') {
                return false;
            }
        }
    }
    return true;
}

}  // namespace

bool origin_split(std::string_view origin, OriginParts &parts) noexcept
{
    return split(origin, false, parts);
}

OriginPatternError origin_pattern_parse(std::string_view text,
    OriginPattern &pattern) noexcept
{
    pattern = OriginPattern{};
    if (text == "null") {
        pattern.kind = OriginPattern::Kind::null_origin;
        return OriginPatternError::none;
    }

    OriginParts parts;
    if (!split(text, true, parts)) {
        return OriginPatternError::malformed;
    }
    pattern.scheme = parts.scheme;
    pattern.port = parts.port;

    if (parts.host.size() > 2 && parts.host.starts_with("*.")) {
        pattern.kind = OriginPattern::Kind::wildcard;
        pattern.host = parts.host.substr(1);      // ".example.com"
    } else {
        if (pattern.scheme.empty()) {
            return OriginPatternError::no_scheme;
        }
        pattern.host = parts.host;
    }
    if (pattern.host.find('*') != std::string_view::npos) {
        return OriginPatternError::misplaced_wildcard;
    }
    return OriginPatternError::none;
}

bool origin_matches(const OriginPattern &pattern, std::string_view origin)
    noexcept
{
    if (pattern.kind == OriginPattern::Kind::null_origin) {
        return origin == "null";
    }
    OriginParts parts;
    if (!origin_split(origin, parts)) {
        return false;
    }
    if (pattern.scheme.empty()) {
        if (!iequal(parts.scheme, "http") && !iequal(parts.scheme, "https")) {
            return false;
        }
    } else if (!iequal(pattern.scheme, parts.scheme)) {
        return false;
    }
    if (pattern.port != parts.port) {
        return false;
    }
    if (pattern.kind == OriginPattern::Kind::exact) {
        return iequal(pattern.host, parts.host);
    }
    // ".example.com" matches "a.example.com", not "example.com" itself.
    return parts.host.size() > pattern.host.size()
        && iequal(pattern.host,
               parts.host.substr(parts.host.size() - pattern.host.size()));
}

}  // namespace wscore
