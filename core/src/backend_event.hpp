// What the backend hooks exchange with an HTTP backend, as text: the lists
// and per-connection values an answer's headers carry, and the JSON event
// a hook sends. No HTTP here: the glue reads and writes the headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace wscore {

// The next element of a comma-separated header list (RFC 9110 section
// 5.6.1): optional whitespace trimmed, empty elements skipped. rest is
// advanced past it; nullopt when nothing is left.
std::optional<std::string_view> next_list_element(std::string_view &rest)
    noexcept;

// A name the backend may give a per-connection value ("WS-Meta-<name>"):
// an HTTP token (RFC 9110 section 5.6.2) of at most 64 characters, since
// it goes back to the backend as part of a header name.
bool is_meta_name(std::string_view name) noexcept;

// A value that can go back in a header and in a JSON string: valid UTF-8
// with no control characters other than horizontal tab.
bool is_meta_value(std::string_view value) noexcept;

// Does a Content-Type name JSON: "application/json" or a "+json" subtype
// (RFC 6839), case-insensitive, parameters and whitespace around ignored?
bool is_json_media_type(std::string_view content_type) noexcept;

struct MetaPair {
    std::string_view name;
    std::string_view value;
};

// The end of a connection, as the close hook reports it.
struct CloseEvent {
    std::uint64_t connection_id = 0;
    std::uint16_t code = 0;
    std::string_view closed_by;            // "client", "server", "none"
    std::uint64_t duration_ms = 0;
    std::uint64_t messages_in = 0;
    std::uint64_t messages_out = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::optional<std::string_view> user;  // null when none was set
    std::span<const MetaPair> meta;
};

// {"event":"close","connection_id":"N","code":N,"closed_by":"...",
//  "duration_ms":N,"messages_in":N,"messages_out":N,"bytes_in":N,
//  "bytes_out":N,"user":"..."|null,"meta":{"name":"value",...}}
// Returns the bytes it needs; writes only when they fit in out. The id is
// a string: JavaScript backends cannot hold every 64-bit number.
std::size_t write_close_event(std::span<char> out, const CloseEvent &ev)
    noexcept;

}  // namespace wscore
