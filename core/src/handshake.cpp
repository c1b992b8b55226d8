#include "handshake.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace wscore {

namespace {

constexpr std::string_view websocket_guid =
    "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// SHA-1 fetched once per thread, with a context kept for reuse: through
// EVP_Digest(EVP_sha1()) OpenSSL 3 looked the algorithm up in its
// providers and made and freed a context on every handshake, 2.7 times
// the cost of the digest itself (callgrind: 5,700 instructions a key).
struct Sha1 {
    EVP_MD *md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    Sha1() = default;
    Sha1(const Sha1 &) = delete;
    Sha1 &operator=(const Sha1 &) = delete;
    ~Sha1()
    {
        EVP_MD_CTX_free(ctx);
        EVP_MD_free(md);
    }
};

bool sha1(const void *data, std::size_t len, unsigned char *digest,
          unsigned int &digest_len) noexcept
{
    thread_local Sha1 sha;
    return sha.md != nullptr && sha.ctx != nullptr
           && EVP_DigestInit_ex2(sha.ctx, sha.md, nullptr) == 1
           && EVP_DigestUpdate(sha.ctx, data, len) == 1
           && EVP_DigestFinal_ex(sha.ctx, digest, &digest_len) == 1;
}

// Optional whitespace (RFC 9110 section 5.6.3): spaces and tabs.
constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) noexcept
{
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

constexpr char ascii_lower(char c) noexcept
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

constexpr bool is_base64_char(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// A 16-byte value in base64 is always 22 characters and "==" (RFC 4648).
bool is_base64_of_16_bytes(std::string_view s) noexcept
{
    if (s.size() != 24 || s[22] != '=' || s[23] != '=') return false;
    for (std::size_t i = 0; i < 22; ++i) {
        if (!is_base64_char(s[i])) return false;
    }
    return true;
}

HandshakeVerdict reject(int status, const char *reason) noexcept
{
    HandshakeVerdict verdict;
    verdict.status = status;
    verdict.reason = reason;
    return verdict;
}

}  // namespace

bool header_has_token(std::string_view list, std::string_view token) noexcept
{
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        const std::string_view item = list.substr(0, comma);
        if (equals_ignoring_case(trim_ows(item), token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

bool is_websocket_upgrade(const HandshakeRequest &req) noexcept
{
    return req.upgrade && header_has_token(*req.upgrade, "websocket");
}

bool compute_accept(std::string_view key, AcceptValue &out) noexcept
{
    // Keys are 24 bytes when valid; anything longer is cut (the caller
    // validates first, so this only bounds the stack buffer).
    char input[64 + websocket_guid.size()];
    const std::size_t key_len = std::min<std::size_t>(key.size(), 64);
    std::memcpy(input, key.data(), key_len);
    std::memcpy(input + key_len, websocket_guid.data(), websocket_guid.size());

    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (!sha1(input, key_len + websocket_guid.size(), digest, digest_len)
        || digest_len != 20) {
        return false;
    }
    // 20 bytes encode to exactly 28 characters plus the NUL it writes.
    EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()), digest,
                    static_cast<int>(digest_len));
    return true;
}

HandshakeVerdict validate_handshake(const HandshakeRequest &req) noexcept
{
    if (req.method != "GET") {
        return reject(405, "method is not GET");
    }
    if (!is_websocket_upgrade(req)) {
        return reject(426, "not a websocket upgrade");
    }
    if (req.http_major < 1 || (req.http_major == 1 && req.http_minor < 1)) {
        return reject(400, "HTTP/1.1 or later required");
    }
    if (!req.host || trim_ows(*req.host).empty()) {
        return reject(400, "missing Host header");
    }
    if (!req.connection || !header_has_token(*req.connection, "upgrade")) {
        return reject(400, "Connection header lacks \"upgrade\"");
    }
    if (!req.version) {
        return reject(426, "missing Sec-WebSocket-Version");
    }
    if (trim_ows(*req.version) != "13") {
        return reject(426, "unsupported Sec-WebSocket-Version");
    }
    if (!req.key) {
        return reject(400, "missing Sec-WebSocket-Key");
    }
    const std::string_view key = trim_ows(*req.key);
    if (!is_base64_of_16_bytes(key)) {
        return reject(400, "Sec-WebSocket-Key is not base64 of 16 bytes");
    }
    HandshakeVerdict verdict;
    if (!compute_accept(key, verdict.accept)) {
        return reject(500, "SHA-1 failed");
    }
    return verdict;
}

}  // namespace wscore
