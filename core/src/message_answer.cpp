#include "message_answer.hpp"

#include <span>

#include "close_payload.hpp"
#include "utf8_validator.hpp"

namespace wscore {

MessageVerdict message_verdict(unsigned status, std::size_t body_len)
    noexcept
{
    if (status == 304) {
        return MessageVerdict::keep;
    }

    if (status == 204) {
        return MessageVerdict::drop;
    }

    if (status >= 200 && status < 300) {
        return body_len ? MessageVerdict::replace : MessageVerdict::drop;
    }

    if (status >= 400 && status < 500) {
        return MessageVerdict::refuse;
    }

    return MessageVerdict::fail;
}

namespace {

bool equals_lowercase(std::string_view value, std::string_view lower)
    noexcept
{
    if (value.size() != lower.size()) {
        return false;
    }

    for (std::size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
        if (c != lower[i]) {
            return false;
        }
    }

    return true;
}

bool is_space(char c) noexcept
{
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && is_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

std::optional<std::uint8_t> parse_answer_opcode(std::string_view value)
    noexcept
{
    value = trim(value);

    if (equals_lowercase(value, "text")) {
        return std::uint8_t{0x1};
    }

    if (equals_lowercase(value, "binary")) {
        return std::uint8_t{0x2};
    }

    return std::nullopt;
}

std::optional<CloseRequest> parse_close_request(std::string_view value)
    noexcept
{
    value = trim(value);

    std::size_t digits = 0;
    unsigned code = 0;

    // four digits at most: no close code has more, and no overflow
    while (digits < value.size() && digits < 5 && value[digits] >= '0'
           && value[digits] <= '9')
    {
        code = code * 10 + static_cast<unsigned>(value[digits] - '0');
        ++digits;
    }

    if (digits == 0 || digits > 4
        || (digits < value.size() && !is_space(value[digits])))
    {
        return std::nullopt;
    }

    const auto c = static_cast<std::uint16_t>(code);

    // 1010 says the server failed to agree an extension: a client's word
    if (!is_valid_close_code(c) || c == 1010) {
        return std::nullopt;
    }

    CloseRequest request;
    request.code = c;
    request.reason = utf8_prefix(trim(value.substr(digits)),
                                 max_close_reason);
    return request;
}

std::string_view utf8_prefix(std::string_view text, std::size_t max)
    noexcept
{
    std::size_t n = text.size() < max ? text.size() : max;

    // at most 3 bytes of a cut sequence, or back to an invalid byte
    while (n > 0
           && !is_valid_utf8(std::span<const std::uint8_t>(
                  reinterpret_cast<const std::uint8_t *>(text.data()), n)))
    {
        --n;
    }

    return text.substr(0, n);
}

}  // namespace wscore
