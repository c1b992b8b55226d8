// The extern "C" face of the channel router and channel patterns
// (wscore.h, "Channels"). Router methods are noexcept and report
// allocation failure as WSCORE_ROUTER_NOMEM, so only creation needs a
// try block here.

#include "wscore.h"

#include <new>
#include <string_view>

#include "channel_name.hpp"
#include "channel_pattern.hpp"
#include "router.hpp"

struct wscore_router_s {
    explicit wscore_router_s(const wscore_router_config_t &cfg) noexcept
        : router(cfg)
    {
    }
    wscore::Router router;
};

namespace {

// C callers may pass NULL for an empty name.
std::string_view name_of(const char *data, size_t len) noexcept
{
    return data == nullptr ? std::string_view{} : std::string_view{data, len};
}

}  // namespace

extern "C" {

wscore_router_t *wscore_router_create(const wscore_router_config_t *cfg)
{
    const wscore_router_config_t no_limits{};
    try {
        return new (std::nothrow) wscore_router_s(cfg != nullptr ? *cfg
                                                                 : no_limits);
    } catch (...) {
        return nullptr;
    }
}

void wscore_router_destroy(wscore_router_t *r)
{
    delete r;
}

wscore_router_rc_e wscore_router_subscribe(wscore_router_t *r, void *subscriber,
    const char *channel, size_t len)
{
    return r->router.subscribe(subscriber, name_of(channel, len));
}

wscore_router_rc_e wscore_router_unsubscribe(wscore_router_t *r, void *subscriber,
    const char *channel, size_t len)
{
    return r->router.unsubscribe(subscriber, name_of(channel, len));
}

void wscore_router_unsubscribe_all(wscore_router_t *r, void *subscriber,
    wscore_router_channel_pt on_last, void *ctx)
{
    r->router.unsubscribe_all(subscriber, on_last, ctx);
}

size_t wscore_router_subscribers(const wscore_router_t *r,
    const char *channel, size_t len)
{
    return r->router.subscribers(name_of(channel, len));
}

size_t wscore_router_channels_of(const wscore_router_t *r, void *subscriber)
{
    return r->router.channels_of(subscriber);
}

size_t wscore_router_for_each(wscore_router_t *r, const char *channel,
    size_t len, wscore_router_visit_pt visit, void *ctx)
{
    return r->router.for_each(name_of(channel, len), visit, ctx);
}

wscore_router_rc_e wscore_router_set_since(wscore_router_t *r, void *subscriber,
    const char *channel, size_t len, uint64_t since)
{
    return r->router.set_since(subscriber, name_of(channel, len), since);
}

size_t wscore_router_for_each_after(wscore_router_t *r, const char *channel,
    size_t len, uint64_t seq, wscore_router_visit_pt visit, void *ctx)
{
    return r->router.for_each_after(name_of(channel, len), seq, visit, ctx);
}

size_t wscore_router_for_each_since(wscore_router_t *r, const char *channel,
    size_t len, uint64_t seq, wscore_router_visit_since_pt visit, void *ctx)
{
    return r->router.for_each_since(name_of(channel, len), seq, visit, ctx);
}

int wscore_channel_name_valid(const char *name, size_t len)
{
    return wscore::channel_name_valid(name_of(name, len)) ? 1 : 0;
}

int wscore_channel_pattern_valid(const char *pattern, size_t len)
{
    return wscore::channel_pattern_valid(name_of(pattern, len)) ? 1 : 0;
}

int wscore_channel_pattern_match(const char *pattern, size_t plen,
    const char *name, size_t nlen)
{
    return wscore::channel_pattern_matches(name_of(pattern, plen),
                                           name_of(name, nlen)) ? 1 : 0;
}

}  // extern "C"
