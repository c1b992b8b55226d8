#include "router.hpp"

#include <cstdint>

#include "channel_name.hpp"

namespace wscore {

namespace {

// Makes room for one more element in advance, so that the push_back which
// commits a subscription cannot throw after other state has changed. An
// empty vector gets `first` places. (A subscriber's own list has its
// first place inside itself: MembershipList::reserve_one.)
template <class T>
void reserve_one(std::vector<T> &v, std::size_t first)
{
    if (v.size() == v.capacity()) {
        v.reserve(v.empty() ? first : 2 * v.size());
    }
}

}  // namespace

Router::Router(const wscore_router_config_t &cfg) noexcept
    : max_channels_per_subscriber_(cfg.max_channels_per_subscriber),
      max_channel_name_len_(cfg.max_channel_name_len)
{
    // A bucket (8 bytes) per four subscribers, not per one: the map is
    // looked up at subscribe, unsubscribe and compaction, never in the
    // fan-out, and four short chains cost less than an idle connection's
    // 8 bytes (and the old bucket arrays each rehash leaves in the heap).
    subscribers_.max_load_factor(4.0f);
}

bool Router::valid_name(std::string_view channel) const noexcept
{
    return channel_name_valid(channel)
        && (max_channel_name_len_ == 0
            || channel.size() <= max_channel_name_len_);
}

Router::Channel *Router::find_channel(std::string_view name) noexcept
{
    const auto it = channels_.find(name);
    return it == channels_.end() ? nullptr : &it->second;
}

const Router::Channel *Router::find_channel(std::string_view name) const
    noexcept
{
    const auto it = channels_.find(name);
    return it == channels_.end() ? nullptr : &it->second;
}

Router::Membership *Router::find_membership(void *subscriber,
    const Channel *ch) noexcept
{
    const auto sub = subscribers_.find(subscriber);
    if (sub == subscribers_.end()) {
        return nullptr;
    }
    for (Membership &m : sub->second) {
        if (m.channel == ch) {
            return &m;
        }
    }
    return nullptr;
}

wscore_router_rc_e Router::subscribe(void *subscriber,
    std::string_view channel) noexcept
{
    if (!valid_name(channel)) {
        return WSCORE_ROUTER_BAD_NAME;
    }
    try {
        return add(subscriber, channel);
    } catch (...) {
        // Only allocation can fail, and add() undid its partial work.
        return WSCORE_ROUTER_NOMEM;
    }
}

wscore_router_rc_e Router::add(void *subscriber, std::string_view name)
{
    Channel *ch = find_channel(name);
    if (ch != nullptr && find_membership(subscriber, ch) != nullptr) {
        return WSCORE_ROUTER_EXISTS;
    }
    auto sub = subscribers_.find(subscriber);
    if (max_channels_per_subscriber_ != 0 && sub != subscribers_.end()
        && sub->second.size() >= max_channels_per_subscriber_) {
        return WSCORE_ROUTER_TOO_MANY;
    }

    // Every step that can throw comes first; the commit below cannot.
    const bool new_channel = ch == nullptr;
    const bool new_subscriber = sub == subscribers_.end();
    try {
        if (new_channel) {
            const auto it = channels_.try_emplace(std::string{name}).first;
            ch = &it->second;
            ch->name = it->first;
        }
        if (new_subscriber) {
            sub = subscribers_.try_emplace(subscriber).first;
        }
        sub->second.reserve_one();
        reserve_one(ch->slots, 4);
    } catch (...) {
        if (new_subscriber && sub != subscribers_.end()) {
            subscribers_.erase(sub);
        }
        if (new_channel && ch != nullptr) {
            channels_.erase(channels_.find(name));
        }
        throw;
    }

    ch->slots.push_back(Slot{subscriber,
        static_cast<std::uint32_t>(sub->second.size()), 0});
    sub->second.push_back(
        Membership{ch, static_cast<std::uint32_t>(ch->slots.size() - 1)});
    if (ch->live++ == 0) {
        ++live_channels_;
        return WSCORE_ROUTER_FIRST;
    }
    return WSCORE_ROUTER_OK;
}

wscore_router_rc_e Router::unsubscribe(void *subscriber,
    std::string_view channel) noexcept
{
    if (!valid_name(channel)) {
        return WSCORE_ROUTER_BAD_NAME;
    }
    Channel *ch = find_channel(channel);
    if (ch == nullptr) {
        return WSCORE_ROUTER_NOT_FOUND;
    }
    const auto sub = subscribers_.find(subscriber);
    if (sub == subscribers_.end()) {
        return WSCORE_ROUTER_NOT_FOUND;
    }
    std::size_t position = 0;
    while (position < sub->second.size()
           && sub->second[position].channel != ch) {
        ++position;
    }
    if (position == sub->second.size()) {
        return WSCORE_ROUTER_NOT_FOUND;
    }
    const bool last = remove(sub, position);
    settle(*ch);
    return last ? WSCORE_ROUTER_LAST : WSCORE_ROUTER_OK;
}

void Router::unsubscribe_all(void *subscriber,
    wscore_router_channel_pt on_last, void *ctx) noexcept
{
    // One membership per round, looked up afresh each time: on_last may
    // call back into the router and change this subscriber's list.
    for (;;) {
        const auto sub = subscribers_.find(subscriber);
        if (sub == subscribers_.end()) {
            return;
        }
        Channel &ch = *sub->second.back().channel;
        if (remove(sub, sub->second.size() - 1) && on_last != nullptr) {
            // Pinned, so the name stays valid whatever on_last does.
            ++ch.pins;
            on_last(ctx, ch.name.data(), ch.name.size());
            --ch.pins;
        }
        settle(ch);
    }
}

bool Router::remove(SubscriberMap::iterator sub, std::size_t position)
    noexcept
{
    Memberships &list = sub->second;
    Channel &ch = *list[position].channel;

    ch.slots[list[position].slot].position = tombstone;
    --ch.live;

    // The subscriber's own list has no order to keep: swap-remove, and
    // the moved membership's slot learns its new place.
    if (position != list.size() - 1) {
        const Membership moved = list.back();
        list[position] = moved;
        moved.channel->slots[moved.slot].position =
            static_cast<std::uint32_t>(position);
    }
    list.pop_back();
    if (list.empty()) {
        subscribers_.erase(sub);
    }

    if (ch.live == 0) {
        --live_channels_;
        return true;
    }
    return false;
}

void Router::settle(Channel &ch) noexcept
{
    if (ch.pins != 0) {
        return;
    }
    if (ch.live == 0) {
        channels_.erase(channels_.find(ch.name));
        return;
    }
    if (ch.slots.size() - ch.live > ch.live) {
        compact(ch);
    }
}

void Router::compact(Channel &ch) noexcept
{
    std::size_t kept = 0;
    for (const Slot &slot : ch.slots) {
        if (slot.position != tombstone) {
            subscribers_.find(slot.subscriber)->second[slot.position].slot =
                static_cast<std::uint32_t>(kept);
            ch.slots[kept++] = slot;
        }
    }
    ch.slots.erase(ch.slots.begin() + static_cast<std::ptrdiff_t>(kept),
                   ch.slots.end());
    // A channel that once had a crowd should not keep its memory after
    // the crowd left. Failing to shrink is harmless.
    if (ch.slots.capacity() > 64 && ch.slots.capacity() / 4 > kept) {
        try {
            ch.slots.shrink_to_fit();
        } catch (...) {
        }
    }
}

std::size_t Router::subscribers(std::string_view channel) const noexcept
{
    const Channel *ch = find_channel(channel);
    return ch == nullptr ? 0 : ch->live;
}

std::size_t Router::channels_of(void *subscriber) const noexcept
{
    const auto sub = subscribers_.find(subscriber);
    return sub == subscribers_.end() ? 0 : sub->second.size();
}

std::size_t Router::channel_count() const noexcept
{
    return live_channels_;
}

std::size_t Router::slots_held(std::string_view channel) const noexcept
{
    const Channel *ch = find_channel(channel);
    return ch == nullptr ? 0 : ch->slots.size();
}

wscore_router_rc_e Router::set_since(void *subscriber,
    std::string_view channel, std::uint64_t since) noexcept
{
    Channel *ch = find_channel(channel);
    if (ch == nullptr) {
        return WSCORE_ROUTER_NOT_FOUND;
    }
    const Membership *m = find_membership(subscriber, ch);
    if (m == nullptr) {
        return WSCORE_ROUTER_NOT_FOUND;
    }
    ch->slots[m->slot].since = since;
    return WSCORE_ROUTER_OK;
}

// The walk of both visits: pinned, so visit may (un)subscribe; what it
// subscribes lands at or after `end`, what it removes turns into a
// tombstone, and nothing is compacted until the walk is over.
template <class Visit>
std::size_t Router::walk(std::string_view channel, std::uint64_t seq,
    Visit &&visit) noexcept
{
    Channel *ch = find_channel(channel);
    if (ch == nullptr) {
        return 0;
    }
    ++ch->pins;
    const std::size_t end = ch->slots.size();
    std::size_t visited = 0;
    for (std::size_t i = 0; i < end; ++i) {
        const Slot slot = ch->slots[i];   // visit may reallocate slots
        if (slot.position == tombstone || slot.since >= seq) {
            continue;
        }
        ++visited;
        visit(slot);
    }
    --ch->pins;
    settle(*ch);
    return visited;
}

std::size_t Router::for_each_after(std::string_view channel,
    std::uint64_t seq, wscore_router_visit_pt visit, void *ctx) noexcept
{
    return walk(channel, seq, [&](const Slot &slot) {
        if (visit != nullptr) {
            visit(ctx, slot.subscriber);
        }
    });
}

[[gnu::hot]]
std::size_t Router::for_each_since(std::string_view channel,
    std::uint64_t seq, wscore_router_visit_since_pt visit, void *ctx) noexcept
{
    return walk(channel, seq, [&](const Slot &slot) {
        if (visit != nullptr) {
            visit(ctx, slot.subscriber, slot.since);
        }
    });
}

}  // namespace wscore
