// libFuzzer target: a token payload or JOSE header as the verified JSON
// the module hands to the claims reader. Every lookup must either refuse
// the document or return a value of a consistent type; string visits
// agree with a lookup of the same member.

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "wscore.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wscore_jwt_reader_t *const j = wscore_jwt_reader_create();
    if (j == nullptr) std::abort();
    std::vector<char> input(data, data + size);
    const char *json = input.data();
    static const char *const names[] = {"sub", "exp", "nbf", "iss", "aud",
                                        "alg", "channels"};
    for (const char *name : names) {
        size_t nlen = 0;
        while (name[nlen]) ++nlen;
        wscore_claim_t c;
        const wscore_rc_t rc = wscore_claim_get(j, json, size, name, nlen, &c);
        if (rc != WSCORE_OK && rc != WSCORE_ERROR) std::abort();
        if (rc == WSCORE_OK && c.type != WSCORE_CLAIM_ABSENT && c.text.data == nullptr
            && c.text.len != 0) std::abort();
        size_t visited = 0;
        size_t n = 0;
        const wscore_rc_t src = wscore_claim_strings(j, json, size, name,
            nlen, [](void *ctx, const char *, size_t) {
                ++*static_cast<size_t *>(ctx);
            }, &visited, &n);
        if (src == WSCORE_OK && n != visited) std::abort();
        if (src != WSCORE_OK && (visited != 0 || n != 0)) std::abort();
        if (rc == WSCORE_ERROR && src != WSCORE_ERROR) std::abort();
    }
    return 0;
}
