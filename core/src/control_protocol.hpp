// The control protocol of channel endpoints: the JSON requests clients
// send (subscribe, unsubscribe, publish) and the replies the server
// writes (ack, error, message). Sans-I/O like the rest of the core: text
// in, views and bytes out.
//
// Parsing uses simdjson's On-Demand API with a full walk of the input:
// On-Demand only checks what it is asked to read, and "data" goes to
// other clients verbatim, so every value is read (and thereby validated)
// once, while its position in the input is noted for the caller.

#ifndef WSCORE_CONTROL_PROTOCOL_HPP
#define WSCORE_CONTROL_PROTOCOL_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "wscore.h"

namespace wscore {

struct ControlRequest {
    wscore_ctl_op_e op{};
    std::string_view channel;               // unquoted, never escaped
    std::optional<std::string_view> data;   // raw JSON, validated
    std::optional<std::string_view> id;     // raw JSON: string or number
    std::optional<std::uint64_t> last_seq;  // subscribe: resume after it
    const char *error = nullptr;            // static text; null = usable
    std::string_view token;                 // "auth": unquoted, unescaped
    std::string_view method;                // "rpc": unquoted, unescaped
};

// Owns the simdjson parser and the padded copy of the input. Reuse one per
// thread: after the first request, parsing small requests allocates
// nothing.
class ControlParser {
public:
    // Nesting limit for any value; deeper input is "bad json". Bounds the
    // validating walk's recursion (and the stack it uses).
    static constexpr std::size_t max_depth = 256;
    // Inputs larger than this leave no buffers behind: a burst of big
    // publishes must not pin their memory for the worker's lifetime.
    static constexpr std::size_t kept_input_size = 64 * 1024;

    ControlParser() noexcept;
    ~ControlParser();
    ControlParser(const ControlParser &) = delete;
    ControlParser &operator=(const ControlParser &) = delete;

    // True when req is usable; else req.error says why and only req.id
    // (when it was read) is set. All views point into json and stay valid
    // as long as it does.
    bool parse(std::string_view json, ControlRequest &req) noexcept;

    // Is json exactly one JSON value (any type, whitespace around it
    // allowed), nested at most max_depth deep? For a backend's answer,
    // which goes to a client inside a reply only when it is.
    bool valid_value(std::string_view json) noexcept;

    // For the memory tests: bytes of padded input buffer held.
    std::size_t buffered_capacity() const noexcept;

private:
    struct State;
    std::unique_ptr<State> state_;   // created on first use
};

// The writers return the length of the reply and write it only when out
// is large enough (an empty out only sizes it). id and data_json are raw
// JSON; an absent id is written as null.
std::size_t write_ack(std::span<char> out, std::optional<std::string_view> id,
    std::uint64_t seq) noexcept;
std::size_t write_error(std::span<char> out,
    std::optional<std::string_view> id, std::string_view code,
    std::string_view message) noexcept;
std::size_t write_message(std::span<char> out, std::string_view channel,
    std::uint64_t seq, std::string_view data_json) noexcept;

// How a backend's answer goes into a reply's "data": as the JSON it is
// (validated by the caller), or as text written as a JSON string.
enum class DataForm { json, text };

// {"op":"ack","id":<id>[,"seq":N][,"data":<data>]}: the reply to a request
// a backend answered; data is omitted when empty.
std::size_t write_ack_data(std::span<char> out,
    std::optional<std::string_view> id, std::uint64_t seq,
    std::string_view data, DataForm form) noexcept;
// {"op":"error","id":<id>,"code":"...","status":N,"message":"..."}: a
// backend refused the request or could not be asked; status is the HTTP
// status the call ended with, message valid UTF-8.
std::size_t write_status_error(std::span<char> out,
    std::optional<std::string_view> id, std::string_view code,
    unsigned status, std::string_view message) noexcept;
// The same with data given as text (valid UTF-8), written as a JSON string.
std::size_t write_text_message(std::span<char> out, std::string_view channel,
    std::uint64_t seq, std::string_view text) noexcept;
// A gap in a resumed history: messages from..to (inclusive) are lost.
std::size_t write_gap(std::span<char> out, std::string_view channel,
    std::uint64_t from, std::uint64_t to) noexcept;
// Before a 1001: the channel's messages up to last_seq were all sent.
std::size_t write_going_away(std::span<char> out, std::string_view channel,
    std::uint64_t last_seq) noexcept;

}  // namespace wscore

#endif
