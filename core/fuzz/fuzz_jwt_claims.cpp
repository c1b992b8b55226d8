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
    std::vector<char> input(data, data + size);
    const char *json = input.data();
    static const char *const names[] = {"sub", "exp", "nbf", "iss", "aud",
                                        "alg", "channels"};
    for (const char *name : names) {
        size_t nlen = 0;
        while (name[nlen]) ++nlen;
        wscore_claim_t c;
        const int rc = wscore_claim_get(json, size, name, nlen, &c);
        if (rc != 0 && rc != -1) std::abort();
        if (rc == 0 && c.type != WSCORE_CLAIM_ABSENT && c.text.data == nullptr
            && c.text.len != 0) std::abort();
        size_t visited = 0;
        const long n = wscore_claim_strings(json, size, name, nlen,
            [](void *ctx, const char *, size_t) {
                ++*static_cast<size_t *>(ctx);
            }, &visited);
        if (n >= 0 && static_cast<size_t>(n) != visited) std::abort();
        if (n < 0 && visited != 0) std::abort();
        if (rc == -1 && n != -1) std::abort();
    }
    return 0;
}
