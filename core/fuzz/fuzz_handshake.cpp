// libFuzzer target: the input is split at '\n' into the request fields
// (method, host, upgrade, connection, version, key); the first byte picks
// the HTTP version and which headers are absent.

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "wscore.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t flags = data[0];
    const char *p = reinterpret_cast<const char *>(data + 1);
    const char *end = p + (size - 1);

    wscore_handshake_request_t req;
    std::memset(&req, 0, sizeof req);
    req.http_major = flags & 0x1;
    req.http_minor = (flags >> 1) & 0x1;
    if (flags & 0x80) req.http_major = 1;
    wscore_str_t *fields[] = {&req.method, &req.host, &req.upgrade,
                              &req.connection, &req.version, &req.key};
    for (unsigned i = 0; i < 6; ++i) {
        const char *nl = static_cast<const char *>(std::memchr(p, '\n',
            static_cast<size_t>(end - p)));
        const char *field_end = nl != nullptr ? nl : end;
        // Bits 2..6 mark host..key as absent (data == NULL).
        const bool absent = i > 0 && (flags & (1u << (i + 1))) != 0;
        if (!absent) {
            fields[i]->data = p;
            fields[i]->len = static_cast<size_t>(field_end - p);
        }
        p = nl != nullptr ? nl + 1 : end;
    }

    wscore_handshake_result_t result;
    wscore_handshake_validate(&req, &result);
    if (result.reason == nullptr) std::abort();
    if (result.status == 0) {
        if (std::strlen(result.accept) != WSCORE_ACCEPT_LEN) std::abort();
        if (!wscore_handshake_is_upgrade(&req)) std::abort();
    } else if (result.status != 400 && result.status != 405
               && result.status != 426) {
        std::abort();
    }
    return 0;
}
