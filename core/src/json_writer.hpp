// Writing small JSON texts into caller-owned buffers: the replies of the
// control protocol, the events the backend hooks send.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace wscore {

// Appends to out when given one, and counts either way, so the same
// rendering code both sizes a reply and writes it.
class JsonWriter {
public:
    explicit JsonWriter(char *out) noexcept : out_(out) {}

    std::size_t size() const noexcept { return len_; }

    void raw(std::string_view s) noexcept
    {
        if (out_ != nullptr && !s.empty()) {
            std::memcpy(out_ + len_, s.data(), s.size());
        }
        len_ += s.size();
    }

    void number(std::uint64_t n) noexcept
    {
        char digits[20];
        const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
        raw({digits, static_cast<std::size_t>(end - digits)});
    }

    void id(std::optional<std::string_view> id) noexcept
    {
        raw(id ? *id : std::string_view{"null"});
    }

    // A JSON string (RFC 8259 section 7): quote, backslash and control
    // characters escaped, everything else (UTF-8 included) as is.
    void string(std::string_view s) noexcept
    {
        raw("\"");
        std::size_t run = 0;   // start of the bytes not yet written
        for (std::size_t i = 0; i < s.size(); ++i) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c >= 0x20 && c != '"' && c != '\\') {
                continue;
            }
            raw(s.substr(run, i - run));
            run = i + 1;
            switch (c) {
            case '"': raw("\\\""); break;
            case '\\': raw("\\\\"); break;
            case '\b': raw("\\b"); break;
            case '\f': raw("\\f"); break;
            case '\n': raw("\\n"); break;
            case '\r': raw("\\r"); break;
            case '\t': raw("\\t"); break;
            default: {
                static const char hex[] = "0123456789abcdef";
                const char u[] = {'\\', 'u', '0', '0', hex[c >> 4],
                                  hex[c & 15]};
                raw({u, sizeof u});
            }
            }
        }
        raw(s.substr(run));
        raw("\"");
    }

private:
    char *out_;
    std::size_t len_ = 0;
};

// Sizes the text, then writes it only if it fits: the caller never gets
// a truncated text that looks complete.
template <class Render>
std::size_t render_json(std::span<char> out, Render render_reply) noexcept
{
    JsonWriter sizing(nullptr);
    render_reply(sizing);
    if (out.data() != nullptr && sizing.size() <= out.size()) {
        JsonWriter writer(out.data());
        render_reply(writer);
    }
    return sizing.size();
}

}  // namespace wscore
