#include "deflate_offer.hpp"

#include <algorithm>
#include <cstdio>

namespace wscore {

namespace {

constexpr std::string_view extension_name = "permessage-deflate";

// tchar of RFC 9110 section 5.6.2.
constexpr bool is_tchar(char c) noexcept
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::string_view{"!#$%&'*+-.^_`|~"}.find(c)
        != std::string_view::npos;
}

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

// A parameter value after unquoting. Values this code acts on are at
// most two digits; longer ones are kept as "too long", which no rule
// accepts.
struct Value {
    static constexpr std::size_t cap = 8;
    std::array<char, cap> text = {};
    std::size_t len = 0;
    bool present = false;
    bool too_long = false;

    void push(char c) noexcept
    {
        if (len < cap) {
            text[len++] = c;
        } else {
            too_long = true;
        }
    }
    std::string_view view() const noexcept { return {text.data(), len}; }
};

// RFC 7692 section 7.1.2: "a decimal integer value without leading zeroes
// between 8 and 15". Returns 0 when the value is not one.
std::uint8_t window_bits(const Value &v) noexcept
{
    if (v.too_long || v.len == 0 || v.len > 2 || v.text[0] == '0') {
        return 0;
    }
    unsigned n = 0;
    for (std::size_t i = 0; i < v.len; ++i) {
        if (v.text[i] < '0' || v.text[i] > '9') {
            return 0;
        }
        n = n * 10 + static_cast<unsigned>(v.text[i] - '0');
    }
    return n >= 8 && n <= 15 ? static_cast<std::uint8_t>(n) : 0;
}

// One permessage-deflate offer as it is read, parameter by parameter.
class Offer {
public:
    explicit Offer(const DeflatePolicy &policy) noexcept : policy_(policy) {}

    void add(std::string_view name, const Value &value) noexcept
    {
        if (declined_) {
            return;
        }
        if (name == "server_no_context_takeover") {
            flag(seen_server_nct_, value);
            params_.server_no_context_takeover = true;
        } else if (name == "client_no_context_takeover") {
            flag(seen_client_nct_, value);
            params_.client_no_context_takeover = true;
        } else if (name == "server_max_window_bits") {
            if (seen_server_bits_) {
                return decline("repeated server_max_window_bits");
            }
            seen_server_bits_ = true;
            server_bits_ = window_bits(value);
            if (!value.present || server_bits_ == 0) {
                return decline("bad server_max_window_bits value");
            }
        } else if (name == "client_max_window_bits") {
            if (seen_client_bits_) {
                return decline("repeated client_max_window_bits");
            }
            seen_client_bits_ = true;
            // Without a value: "I can limit my window if you tell me".
            client_bits_ = value.present ? window_bits(value) : 15;
            if (client_bits_ == 0) {
                return decline("bad client_max_window_bits value");
            }
        } else {
            decline("unknown permessage-deflate parameter");
        }
    }

    // Applies the policy; false when the offer is declined.
    bool finish(DeflateNegotiation &out) noexcept
    {
        if (declined_) {
            out.reason = reason_;
            return false;
        }
        params_.server_max_window_bits =
            std::min(server_bits_, policy_.server_max_window_bits);
        if (params_.server_max_window_bits < 9) {
            // The client needs a 256-byte window; zlib's raw deflate
            // cannot make one, and a larger one would break the client.
            out.reason = "server_max_window_bits=8 cannot be honoured";
            return false;
        }
        params_.client_max_window_bits = seen_client_bits_
            ? std::min(client_bits_, policy_.client_max_window_bits)
            : std::uint8_t{15};
        params_.server_no_context_takeover |=
            policy_.server_no_context_takeover;
        out.params = params_;
        write_answer(out);
        return true;
    }

private:
    void flag(bool &seen, const Value &value) noexcept
    {
        if (seen) {
            return decline("repeated parameter");
        }
        seen = true;
        if (value.present) {
            decline("value on a parameter that takes none");
        }
    }

    void decline(const char *why) noexcept
    {
        if (!declined_) {
            declined_ = true;
            reason_ = why;
        }
    }

    void write_answer(DeflateNegotiation &out) const noexcept
    {
        // Window parameters are named when they say something: a server
        // window below 15 (or the value the client asked for), a client
        // window below 15 (only ever when the offer named it).
        const int n = std::snprintf(out.answer.data(), out.answer.size(),
            "%.*s%s%s", static_cast<int>(extension_name.size()),
            extension_name.data(),
            params_.server_no_context_takeover
                ? "; server_no_context_takeover" : "",
            params_.client_no_context_takeover
                ? "; client_no_context_takeover" : "");
        std::size_t len = static_cast<std::size_t>(n);
        if (seen_server_bits_ || params_.server_max_window_bits < 15) {
            len += static_cast<std::size_t>(std::snprintf(
                out.answer.data() + len, out.answer.size() - len,
                "; server_max_window_bits=%u",
                unsigned{params_.server_max_window_bits}));
        }
        if (seen_client_bits_ && params_.client_max_window_bits < 15) {
            len += static_cast<std::size_t>(std::snprintf(
                out.answer.data() + len, out.answer.size() - len,
                "; client_max_window_bits=%u",
                unsigned{params_.client_max_window_bits}));
        }
        out.answer_len = len;
    }

    const DeflatePolicy &policy_;
    DeflateParams params_;
    std::uint8_t server_bits_ = 15;
    std::uint8_t client_bits_ = 15;
    bool seen_server_nct_ = false;
    bool seen_client_nct_ = false;
    bool seen_server_bits_ = false;
    bool seen_client_bits_ = false;
    bool declined_ = false;
    const char *reason_ = nullptr;
};

// A cursor over the header with the pieces of the RFC 6455 section 9.1
// grammar (extension-list, extension-param, token, quoted-string).
class Reader {
public:
    explicit Reader(std::string_view s) noexcept : s_(s) {}

    bool at_end() const noexcept { return pos_ == s_.size(); }
    char peek() const noexcept { return at_end() ? '\0' : s_[pos_]; }
    void skip_ows() noexcept
    {
        while (!at_end() && is_ows(s_[pos_])) ++pos_;
    }
    bool take(char c) noexcept
    {
        if (peek() == c && !at_end()) {
            ++pos_;
            return true;
        }
        return false;
    }
    std::string_view token() noexcept
    {
        const std::size_t start = pos_;
        while (!at_end() && is_tchar(s_[pos_])) ++pos_;
        return s_.substr(start, pos_ - start);
    }
    // A token or a quoted-string whose unescaped content is a token (RFC
    // 6455 section 9.1). False when neither.
    bool value(Value &v) noexcept
    {
        v.present = true;
        if (!take('"')) {
            const std::string_view t = token();
            for (char c : t) v.push(c);
            return !t.empty();
        }
        for (;;) {
            if (at_end()) {
                return false;
            }
            char c = s_[pos_++];
            if (c == '"') {
                break;
            }
            if (c == '\\') {
                if (at_end()) {
                    return false;
                }
                c = s_[pos_++];
            }
            if (!is_tchar(c)) {
                return false;
            }
            v.push(c);
        }
        return v.len > 0 || v.too_long;
    }

private:
    std::string_view s_;
    std::size_t pos_ = 0;
};

DeflateNegotiation malformed(const char *why) noexcept
{
    DeflateNegotiation result;
    result.outcome = DeflateNegotiation::Outcome::malformed;
    result.reason = why;
    return result;
}

}  // namespace

DeflateNegotiation negotiate_deflate(std::string_view header,
    const DeflatePolicy &policy) noexcept
{
    DeflateNegotiation result;
    bool accepted = false;
    const char *decline_reason = nullptr;
    Reader in{header};

    // The whole list is read even after an offer was accepted: a header
    // that breaks the grammar anywhere is malformed.
    for (;;) {
        in.skip_ows();
        if (in.at_end()) {
            break;
        }
        if (in.take(',')) {
            continue;  // empty list elements are allowed (RFC 9110 5.6.1)
        }
        const std::string_view name = in.token();
        if (name.empty()) {
            return malformed("malformed Sec-WebSocket-Extensions");
        }
        const bool ours = name == extension_name && !accepted;
        Offer offer{policy};
        in.skip_ows();
        while (in.take(';')) {
            in.skip_ows();
            const std::string_view param = in.token();
            if (param.empty()) {
                return malformed("malformed Sec-WebSocket-Extensions");
            }
            in.skip_ows();
            Value value;
            if (in.take('=')) {
                in.skip_ows();
                if (!in.value(value)) {
                    return malformed("malformed Sec-WebSocket-Extensions "
                                     "parameter value");
                }
                in.skip_ows();
            }
            if (ours) {
                offer.add(param, value);
            }
        }
        if (!in.at_end() && !in.take(',')) {
            return malformed("malformed Sec-WebSocket-Extensions");
        }
        if (ours) {
            DeflateNegotiation attempt;
            if (offer.finish(attempt)) {
                result = attempt;
                result.outcome = DeflateNegotiation::Outcome::accepted;
                result.reason = "accepted";
                accepted = true;
            } else if (decline_reason == nullptr) {
                decline_reason = attempt.reason;
            }
        }
    }
    if (!accepted && decline_reason != nullptr) {
        result.reason = decline_reason;
    }
    return result;
}

namespace {

DeflateAnswer invalid_answer(const char *why) noexcept
{
    DeflateAnswer answer;
    answer.reason = why;
    return answer;
}

}  // namespace

DeflateAnswer check_deflate_answer(std::string_view header) noexcept
{
    Reader in{header};
    DeflateAnswer result;
    bool seen_extension = false;
    bool seen_server_nct = false;
    bool seen_client_nct = false;
    bool seen_server_bits = false;
    bool seen_client_bits = false;

    for (;;) {
        in.skip_ows();
        if (in.at_end()) {
            break;
        }
        if (in.take(',')) {
            continue;
        }
        const std::string_view name = in.token();
        if (name.empty()) {
            return invalid_answer("malformed Sec-WebSocket-Extensions");
        }
        if (name != extension_name) {
            return invalid_answer("an extension that was not offered");
        }
        if (seen_extension) {
            return invalid_answer("permessage-deflate answered twice");
        }
        seen_extension = true;
        in.skip_ows();
        while (in.take(';')) {
            in.skip_ows();
            const std::string_view param = in.token();
            if (param.empty()) {
                return invalid_answer("malformed Sec-WebSocket-Extensions");
            }
            in.skip_ows();
            Value value;
            if (in.take('=')) {
                in.skip_ows();
                if (!in.value(value)) {
                    return invalid_answer("malformed Sec-WebSocket-"
                                          "Extensions parameter value");
                }
                in.skip_ows();
            }
            bool *seen = nullptr;
            if (param == "server_no_context_takeover") {
                seen = &seen_server_nct;
                result.params.server_no_context_takeover = true;
            } else if (param == "client_no_context_takeover") {
                seen = &seen_client_nct;
                result.params.client_no_context_takeover = true;
            } else if (param == "server_max_window_bits") {
                seen = &seen_server_bits;
                result.params.server_max_window_bits = window_bits(value);
                if (result.params.server_max_window_bits == 0) {
                    return invalid_answer("bad server_max_window_bits "
                                          "value");
                }
            } else if (param == "client_max_window_bits") {
                // Section 7.1.2.2: the answer must carry a value.
                seen = &seen_client_bits;
                result.params.client_max_window_bits = window_bits(value);
                if (result.params.client_max_window_bits == 0) {
                    return invalid_answer("bad client_max_window_bits "
                                          "value");
                }
                if (result.params.client_max_window_bits < 9) {
                    return invalid_answer("client_max_window_bits=8 "
                                          "cannot be honoured");
                }
            } else {
                return invalid_answer("unknown permessage-deflate "
                                      "parameter");
            }
            if (*seen) {
                return invalid_answer("repeated permessage-deflate "
                                      "parameter");
            }
            *seen = true;
            if ((seen == &seen_server_nct || seen == &seen_client_nct)
                && value.present)
            {
                return invalid_answer("value on a parameter that takes "
                                      "none");
            }
        }
        if (!in.at_end() && !in.take(',')) {
            return invalid_answer("malformed Sec-WebSocket-Extensions");
        }
    }
    if (!seen_extension) {
        return invalid_answer("no permessage-deflate in the answer");
    }
    result.valid = true;
    result.reason = "accepted";
    return result;
}

}  // namespace wscore
