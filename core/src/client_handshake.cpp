#include "client_handshake.hpp"

#include "handshake.hpp"

namespace wscore {

namespace {

bool is_token_char(char c) noexcept
{
    // RFC 9110 section 5.6.2 tchar
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')) {
        return true;
    }
    return std::string_view{"!#$%&'*+-.^_`|~"}.find(c)
           != std::string_view::npos;
}

bool is_token(std::string_view s) noexcept
{
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!is_token_char(c)) {
            return false;
        }
    }
    return true;
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// Subprotocol names compare exactly (section 4.1: "one of the values").
bool list_has_exact(std::string_view list, std::string_view name) noexcept
{
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        if (trim(list.substr(0, comma)) == name) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace

const char *check_handshake_response(const HandshakeResponse &response,
    std::string_view key, std::optional<std::string_view> offered_protocols,
    std::optional<DeflateParams> *deflate) noexcept
{
    if (deflate != nullptr) {
        deflate->reset();
    }
    if (response.status != 101) {
        return "status is not 101";
    }
    if (!response.upgrade || !header_has_token(*response.upgrade,
                                               "websocket")) {
        return "no \"Upgrade: websocket\"";
    }
    if (!response.connection || !header_has_token(*response.connection,
                                                  "upgrade")) {
        return "no \"Connection: upgrade\"";
    }
    if (!response.accept) {
        return "no Sec-WebSocket-Accept";
    }
    AcceptValue expected;
    if (!compute_accept(key, expected)) {
        return "SHA-1 failed";
    }
    if (trim(*response.accept)
        != std::string_view{expected.data(), accept_len}) {
        return "wrong Sec-WebSocket-Accept";
    }
    if (response.protocol) {
        const std::string_view chosen = trim(*response.protocol);
        if (!offered_protocols) {
            return "a subprotocol was chosen but none offered";
        }
        if (!is_token(chosen)) {
            return "the subprotocol is not one token";
        }
        if (!list_has_exact(*offered_protocols, chosen)) {
            return "the subprotocol chosen was not offered";
        }
    }
    if (response.extensions && !trim(*response.extensions).empty()) {
        if (deflate == nullptr) {
            return "an extension was chosen but none offered";
        }
        const DeflateAnswer answer = check_deflate_answer(
            *response.extensions);
        if (!answer.valid) {
            return answer.reason;
        }
        *deflate = answer.params;
    }
    return nullptr;
}

}  // namespace wscore
