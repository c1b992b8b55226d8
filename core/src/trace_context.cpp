// W3C traceparent: parsing and writing (trace_context.hpp).

#include "trace_context.hpp"

namespace wscore {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// A lowercase hex digit's value, or -1 (uppercase is invalid in
// traceparent).
int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

// n bytes from 2n hex digits; false on any other character.
bool parse_hex(std::string_view text, std::uint8_t *out, std::size_t n)
    noexcept
{
    if (text.size() != 2 * n) {
        return false;
    }
    for (std::size_t i = 0; i < n; ++i) {
        int hi = hex_value(text[2 * i]);
        int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return true;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N> &id) noexcept
{
    for (std::uint8_t b : id) {
        if (b != 0) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<TraceContext> traceparent_parse(std::string_view value)
    noexcept
{
    // optional whitespace around a header value is not part of it
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
    }

    if (value.size() < traceparent_length || value[2] != '-'
        || value[35] != '-' || value[52] != '-')
    {
        return std::nullopt;
    }

    std::uint8_t version = 0;
    if (!parse_hex(value.substr(0, 2), &version, 1) || version == 0xff) {
        return std::nullopt;
    }

    // version 00 has exactly four fields; later ones may add more
    if (version == 0 ? value.size() != traceparent_length
                     : value.size() > traceparent_length
                       && value[traceparent_length] != '-')
    {
        return std::nullopt;
    }

    TraceContext ctx;
    if (!parse_hex(value.substr(3, 32), ctx.trace_id.data(), 16)
        || !parse_hex(value.substr(36, 16), ctx.parent_id.data(), 8)
        || !parse_hex(value.substr(53, 2), &ctx.flags, 1)
        || all_zero(ctx.trace_id) || all_zero(ctx.parent_id))
    {
        return std::nullopt;
    }

    return ctx;
}

void trace_hex(std::span<const std::uint8_t> bytes, char *out) noexcept
{
    for (std::uint8_t b : bytes) {
        *out++ = hex_digits[b >> 4];
        *out++ = hex_digits[b & 0x0f];
    }
}

void traceparent_format(const std::array<std::uint8_t, 16> &trace_id,
    const std::array<std::uint8_t, 8> &span_id, std::uint8_t flags,
    std::span<char, traceparent_length> out) noexcept
{
    char *p = out.data();
    *p++ = '0';
    *p++ = '0';
    *p++ = '-';
    trace_hex(trace_id, p);
    p += 32;
    *p++ = '-';
    trace_hex(span_id, p);
    p += 16;
    *p++ = '-';
    const std::uint8_t f[1] = {flags};
    trace_hex(f, p);
}

}  // namespace wscore
