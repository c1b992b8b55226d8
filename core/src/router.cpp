#include "router.hpp"

#include <cstdint>

#include "channel_name.hpp"

namespace wscore {

namespace {

// Makes room for one more element in advance, so that the push_back which
// commits a subscription cannot throw after other state has changed.
template <class T>
void reserve_one(std::vector<T> &v)
{
    if (v.size() == v.capacity()) {
        v.reserve(v.empty() ? 4 : 2 * v.size());
    }
}

}  // namespace

std::size_t Router::MemberKeyHash::operator()(const MemberKey &k) const
    noexcept
{
    // Both halves are heap addresses whose low bits are always zero; a
    // multiply-xorshift spreads them over the whole word.
    std::uint64_t h = static_cast<std::uint64_t>(
        reinterpret_cast<std::uintptr_t>(k.subscriber));
    h ^= static_cast<std::uint64_t>(
        reinterpret_cast<std::uintptr_t>(k.channel)) * 0x9E3779B97F4A7C15ull;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    return static_cast<std::size_t>(h);
}

Router::Router(const wscore_router_config_t &cfg) noexcept
    : max_channels_per_subscriber_(cfg.max_channels_per_subscriber),
      max_channel_name_len_(cfg.max_channel_name_len)
{
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
    if (ch != nullptr && memberships_.contains(MemberKey{subscriber, ch})) {
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
    Member *member = nullptr;
    try {
        if (new_channel) {
            const auto it = channels_.try_emplace(std::string{name}).first;
            ch = &it->second;
            ch->name = it->first;
        }
        if (new_subscriber) {
            sub = subscribers_.try_emplace(subscriber).first;
        }
        reserve_one(sub->second);
        reserve_one(ch->slots);
        member = &*memberships_.try_emplace(MemberKey{subscriber, ch},
            MemberPos{ch->slots.size(), sub->second.size()}).first;
    } catch (...) {
        if (new_subscriber && sub != subscribers_.end()) {
            subscribers_.erase(sub);
        }
        if (new_channel && ch != nullptr) {
            channels_.erase(channels_.find(name));
        }
        throw;
    }

    sub->second.push_back(member);
    ch->slots.push_back(Slot{subscriber, member, 0});
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
    const auto it = memberships_.find(MemberKey{subscriber, ch});
    if (it == memberships_.end()) {
        return WSCORE_ROUTER_NOT_FOUND;
    }
    const bool last = remove(*it);
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
        Member &member = *sub->second.back();
        Channel &ch = *member.first.channel;
        if (remove(member) && on_last != nullptr) {
            // Pinned, so the name stays valid whatever on_last does.
            ++ch.pins;
            on_last(ctx, ch.name.data(), ch.name.size());
            --ch.pins;
        }
        settle(ch);
    }
}

bool Router::remove(Member &member) noexcept
{
    // Copies: member is erased below.
    const MemberKey key = member.first;
    const MemberPos pos = member.second;
    Channel &ch = *key.channel;

    ch.slots[pos.slot].member = nullptr;
    --ch.live;

    // The subscriber's own list has no order to keep: swap-remove.
    const auto sub = subscribers_.find(key.subscriber);
    std::vector<Member *> &list = sub->second;
    Member *moved = list.back();
    list[pos.position] = moved;
    moved->second.position = pos.position;
    list.pop_back();
    if (list.empty()) {
        subscribers_.erase(sub);
    }

    memberships_.erase(key);
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
        if (slot.member != nullptr) {
            slot.member->second.slot = kept;
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
    const auto it = memberships_.find(MemberKey{subscriber, ch});
    if (it == memberships_.end()) {
        return WSCORE_ROUTER_NOT_FOUND;
    }
    ch->slots[it->second.slot].since = since;
    return WSCORE_ROUTER_OK;
}

std::size_t Router::for_each_after(std::string_view channel,
    std::uint64_t seq, wscore_router_visit_pt visit, void *ctx) noexcept
{
    Channel *ch = find_channel(channel);
    if (ch == nullptr) {
        return 0;
    }
    // Subscriptions made by visit land at or after `end`; removals turn
    // slots into tombstones, and nothing is compacted while pinned.
    ++ch->pins;
    const std::size_t end = ch->slots.size();
    std::size_t visited = 0;
    for (std::size_t i = 0; i < end; ++i) {
        const Slot slot = ch->slots[i];   // visit may reallocate slots
        if (slot.member == nullptr || slot.since >= seq) {
            continue;
        }
        ++visited;
        if (visit != nullptr) {
            visit(ctx, slot.subscriber);
        }
    }
    --ch->pins;
    settle(*ch);
    return visited;
}

}  // namespace wscore
