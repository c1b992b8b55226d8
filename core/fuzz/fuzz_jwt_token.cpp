// libFuzzer target: the input as a token in compact form, then (when it
// parses) its payload through the claim policy. A token that parses has
// parts that point into it or into the reader, a signing input that is
// its first two segments, and an "alg" read from a valid header.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wscore.h"

namespace {

wscore_jwt_reader_t *reader()
{
    static wscore_jwt_reader_t *j = wscore_jwt_reader_create();
    return j;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wscore_jwt_reader_t *j = reader();
    if (j == nullptr) std::abort();
    const char *token = reinterpret_cast<const char *>(data);
    wscore_jwt_parts_t parts;
    const char *why = nullptr;
    const wscore_rc_t rc = wscore_jwt_parse(j, token, size, &parts, &why);
    if ((rc == WSCORE_OK) != (why == nullptr)) std::abort();
    if (rc != WSCORE_OK) {
        return 0;
    }
    if (size > WSCORE_JWT_MAX_LEN) std::abort();
    const std::string_view t(token, size);
    const std::string_view in(parts.signing_input.data,
                              parts.signing_input.len);
    if (parts.signing_input.data != token || in.size() >= size
        || t[in.size()] != '.' || in.find('.') == std::string_view::npos)
        std::abort();
    if (parts.alg.data == nullptr) std::abort();

    const wscore_jwt_policy_t policy{{"iss", 3}, {"aud", 3}, 60};
    wscore_jwt_claims_t claims;
    const wscore_rc_t crc = wscore_jwt_check_claims(j, &policy,
        parts.payload.data, parts.payload.len, 1'700'000'000, &claims, &why);
    if ((crc == WSCORE_OK) != (why == nullptr)) std::abort();
    if (crc == WSCORE_OK && (claims.exp < 0 || claims.exp > 1'000'000'000'000
                             || claims.sub.len > 250)) std::abort();
    return 0;
}
