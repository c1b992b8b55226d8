#include "endpoint.h"

#include <charconv>

namespace wsload {

std::optional<Endpoint> parse_endpoint(std::string_view url) {
    std::string_view rest;
    std::uint16_t default_port = 80;
    bool tls = false;
    if (url.starts_with("ws://")) {
        rest = url.substr(5);
    } else if (url.starts_with("http://")) {
        rest = url.substr(7);
    } else if (url.starts_with("wss://")) {
        rest = url.substr(6);
        tls = true;
    } else if (url.starts_with("https://")) {
        rest = url.substr(8);
        tls = true;
    } else {
        return std::nullopt;
    }
    if (tls) default_port = 443;

    Endpoint ep;
    ep.tls = tls;
    const auto slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    ep.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    ep.host_header = std::string(authority);

    const auto colon = authority.rfind(':');
    if (colon == std::string_view::npos) {
        ep.host = std::string(authority);
        ep.port = default_port;
    } else {
        ep.host = std::string(authority.substr(0, colon));
        const auto digits = authority.substr(colon + 1);
        unsigned value = 0;
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (ec != std::errc{} || end != digits.data() + digits.size() || value == 0 ||
            value > 65535) {
            return std::nullopt;
        }
        ep.port = static_cast<std::uint16_t>(value);
    }
    if (ep.host.empty()) return std::nullopt;
    return ep;
}

}  // namespace wsload
