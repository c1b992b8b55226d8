// W3C Trace Context (https://www.w3.org/TR/trace-context/), the
// "traceparent" header: which trace a request belongs to and which span
// of it made the request. A WebSocket takes the trace of its upgrade
// request (or starts one) and becomes a span of it; the calls it makes to
// backends carry that trace with the WebSocket's span as their parent.
//
// traceparent = version "-" trace-id "-" parent-id "-" trace-flags
//               2 hex      32 hex        16 hex         2 hex
// lowercase hex only; neither id may be all zeros; version ff is invalid.
// Version 00 is exactly 55 characters; a later version may append
// "-..." fields, which are ignored (the spec's forward compatibility).

#ifndef WSCORE_TRACE_CONTEXT_HPP
#define WSCORE_TRACE_CONTEXT_HPP

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace wscore {

struct TraceContext {
    std::array<std::uint8_t, 16> trace_id{};
    std::array<std::uint8_t, 8>  parent_id{};   // the caller's span
    std::uint8_t                 flags = 0;      // bit 0: sampled

    static constexpr std::uint8_t sampled = 0x01;
};

// Length of a traceparent of version 00, the one we write.
inline constexpr std::size_t traceparent_length = 55;

// The context of a traceparent header value; nullopt when it is not one
// (then the receiver starts a new trace, as the spec says).
std::optional<TraceContext> traceparent_parse(std::string_view value) noexcept;

// Writes "00-<trace-id>-<span-id>-<flags>" into out.
void traceparent_format(const std::array<std::uint8_t, 16> &trace_id,
    const std::array<std::uint8_t, 8> &span_id, std::uint8_t flags,
    std::span<char, traceparent_length> out) noexcept;

// Lowercase hex of bytes into out (2 characters a byte).
void trace_hex(std::span<const std::uint8_t> bytes, char *out) noexcept;

// A trace or span id from random bytes the caller drew (the core draws
// none): an all-zero id is invalid, so that one becomes ...01.
template <std::size_t N>
std::array<std::uint8_t, N> trace_id_from_random(
    std::span<const std::uint8_t, N> random) noexcept
{
    std::array<std::uint8_t, N> id{};
    bool zero = true;
    for (std::size_t i = 0; i < N; ++i) {
        id[i] = random[i];
        zero = zero && id[i] == 0;
    }
    if (zero) {
        id[N - 1] = 1;
    }
    return id;
}

}  // namespace wscore

#endif
