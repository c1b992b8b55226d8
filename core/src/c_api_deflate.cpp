// The C ABI of permessage-deflate: negotiation and the message compressor
// (decompression lives in the session, see c_api.cpp).

#include "wscore.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <string_view>

#include "deflate_offer.hpp"
#include "message_deflater.hpp"

struct wscore_deflater_s {
    explicit wscore_deflater_s(const wscore::DeflaterSettings &settings)
        noexcept
        : deflater(settings)
    {
    }
    wscore::MessageDeflater deflater;
};

namespace {

std::uint8_t clamp_bits(unsigned bits, unsigned low) noexcept
{
    return static_cast<std::uint8_t>(std::clamp(bits, low, 15u));
}

}  // namespace

extern "C" {

void wscore_deflate_negotiate(const wscore_deflate_policy_t *policy,
    const char *header, size_t len, wscore_deflate_negotiation_t *result)
{
    if (result == nullptr) {
        return;
    }
    std::memset(result, 0, sizeof *result);
    result->outcome = WSCORE_DEFLATE_DECLINED;
    result->reason = "no permessage-deflate offer";
    if (policy == nullptr || header == nullptr) {
        return;
    }
    wscore::DeflatePolicy p;
    p.server_max_window_bits = clamp_bits(policy->server_max_window_bits, 9);
    p.client_max_window_bits = clamp_bits(policy->client_max_window_bits, 8);
    p.server_no_context_takeover = policy->server_no_context_takeover != 0;

    const wscore::DeflateNegotiation n =
        wscore::negotiate_deflate({header, len}, p);
    result->reason = n.reason;
    switch (n.outcome) {
    case wscore::DeflateNegotiation::Outcome::malformed:
        result->outcome = WSCORE_DEFLATE_MALFORMED;
        return;
    case wscore::DeflateNegotiation::Outcome::declined:
        return;
    case wscore::DeflateNegotiation::Outcome::accepted:
        break;
    }
    result->outcome = WSCORE_DEFLATE_ACCEPTED;
    result->params.server_max_window_bits = n.params.server_max_window_bits;
    result->params.client_max_window_bits = n.params.client_max_window_bits;
    result->params.server_no_context_takeover =
        n.params.server_no_context_takeover;
    result->params.client_no_context_takeover =
        n.params.client_no_context_takeover;
    static_assert(sizeof result->answer >= wscore::max_deflate_answer_len);
    std::memcpy(result->answer, n.answer.data(), n.answer_len);
    result->answer_len = n.answer_len;
}

wscore_deflater_t *wscore_deflater_create(unsigned window_bits, int level,
    int mem_level, int context_takeover)
{
    wscore::DeflaterSettings settings;
    settings.window_bits = clamp_bits(window_bits, 9);
    settings.level = static_cast<std::uint8_t>(std::clamp(level, 0, 9));
    settings.mem_level = static_cast<std::uint8_t>(std::clamp(mem_level, 1, 9));
    settings.context_takeover = context_takeover != 0;
    return new (std::nothrow) wscore_deflater_s(settings);
}

void wscore_deflater_destroy(wscore_deflater_t *d)
{
    delete d;
}

wscore_rc_t wscore_deflater_compress(wscore_deflater_t *d, const uint8_t *data,
    size_t len, const uint8_t **out, size_t *out_len)
{
    if (data == nullptr) {
        len = 0;
    }
    const std::span<const std::uint8_t> compressed =
        d->deflater.compress({data, len});
    *out = compressed.data();
    *out_len = compressed.size();
    return compressed.empty() ? WSCORE_NOMEM : WSCORE_OK;
}

size_t wscore_deflater_memory(const wscore_deflater_t *d)
{
    return sizeof *d + d->deflater.memory();
}

}  // extern "C"
