// Where to connect: the parts of a ws:// or http:// URL the tool needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsload {

struct Endpoint {
    std::string host;          // numeric IPv4, as the tool connects by address
    std::uint16_t port = 80;
    std::string path = "/";
    std::string host_header;   // host[:port] as the URL spelled it
    bool tls = false;          // wss:// or https://
};

// Accepts ws://, wss://, http:// and https:// (wss and https: port 443 by
// default).
std::optional<Endpoint> parse_endpoint(std::string_view url);

}  // namespace wsload
