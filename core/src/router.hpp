// Router: the channels of one NGINX worker. Which local subscribers
// listen on which channel, in subscription order, and the fan-out over
// them. No threads and no shared memory: the module carries messages
// between workers and asks the router only about its own sessions.
//
// Layout (the choice the fan-out path dictates, and idle memory: one
// subscription of an idle connection is what this file holds for it):
//
//   channels_     name -> Channel { slots: vector<Slot>, live count }
//   subscribers_  subscriber -> MembershipList (its channels: the
//                 channel and the index of its slot there; the first
//                 inside the map node, see membership_list.hpp)
//
// A slot names its subscriber and its place in the subscriber's list, so
// a membership is found from either side without a map of its own: from
// the subscriber by a scan of its (short, bounded) list, from the channel
// through the slot. A channel's slots are a vector in subscription order,
// so for_each over 10,000 subscribers is a walk over 240 contiguous
// kilobytes. Removal may not swap the last slot into the hole (that would
// break the order), so a removed slot becomes a tombstone (position ==
// tombstone) and the vector is compacted once tombstones are more than half
// of it: O(1) amortised per removal (compaction looks each moved slot's
// subscriber up to renumber its membership). The same tombstones make
// for_each safe against changes made by its own visitor: it walks by
// index up to the size it started with, skips tombstones, and while a
// channel is pinned (a for_each or on_last is running on it) it is neither
// compacted nor erased from the map. Nodes of std::unordered_map keep
// their address across rehashing, which is what lets Channel * be held
// across calls.

#ifndef WSCORE_ROUTER_HPP
#define WSCORE_ROUTER_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "membership_list.hpp"
#include "node_pool.hpp"
#include "wscore.h"

namespace wscore {

class Router {
public:
    explicit Router(const wscore_router_config_t &cfg) noexcept;
    Router(const Router &) = delete;
    Router &operator=(const Router &) = delete;

    // The name rule of channel_name.hpp, within max_channel_name_len of the
    // configuration when that is shorter.
    bool valid_name(std::string_view channel) const noexcept;

    wscore_router_rc_e subscribe(void *subscriber, std::string_view channel)
        noexcept;
    wscore_router_rc_e unsubscribe(void *subscriber, std::string_view channel)
        noexcept;
    void unsubscribe_all(void *subscriber, wscore_router_channel_pt on_last,
        void *ctx) noexcept;

    std::size_t subscribers(std::string_view channel) const noexcept;
    std::size_t channels_of(void *subscriber) const noexcept;
    // Channels with at least one subscriber (for metrics and tests).
    std::size_t channel_count() const noexcept;
    // For the memory tests: slots the channel holds, tombstones included.
    std::size_t slots_held(std::string_view channel) const noexcept;

    // The sequence number of the channel when the subscriber joined it, so
    // that a message published earlier but delivered later (it waited in a
    // cross-worker queue) is not delivered to it. NOT_FOUND when not
    // subscribed.
    wscore_router_rc_e set_since(void *subscriber, std::string_view channel,
        std::uint64_t since) noexcept;

    // Visits every subscriber, or with `seq` only those that joined before
    // message `seq` (since < seq): one comparison per subscriber, in the
    // walk the fan-out does anyway.
    std::size_t for_each(std::string_view channel,
        wscore_router_visit_pt visit, void *ctx) noexcept
    {
        return for_each_after(channel, UINT64_MAX, visit, ctx);
    }
    std::size_t for_each_after(std::string_view channel, std::uint64_t seq,
        wscore_router_visit_pt visit, void *ctx) noexcept;
    // The same walk, telling visit each subscriber's mark: one walk for
    // several messages of the channel (seq the highest of their numbers).
    std::size_t for_each_since(std::string_view channel, std::uint64_t seq,
        wscore_router_visit_since_pt visit, void *ctx) noexcept;

    // C++ callers (the tests) may pass any callable.
    template <class Visit>
    std::size_t for_each(std::string_view channel, Visit &visit) noexcept
    {
        return for_each(channel,
            [](void *ctx, void *subscriber) {
                (*static_cast<Visit *>(ctx))(subscriber);
            },
            &visit);
    }

    template <class OnLast>
    void unsubscribe_all(void *subscriber, OnLast &on_last) noexcept
    {
        unsubscribe_all(subscriber,
            [](void *ctx, const char *channel, std::size_t len) {
                (*static_cast<OnLast *>(ctx))(std::string_view{channel, len});
            },
            &on_last);
    }

private:
    struct Channel;

    struct Membership {
        Channel *channel;
        std::uint32_t slot;     // index in channel->slots
    };
    using Memberships = MembershipList<Membership>;

    // A slot's position when it is a tombstone (nullptr is a subscriber).
    static constexpr std::uint32_t tombstone = UINT32_MAX;

    struct Slot {
        void *subscriber;
        std::uint32_t position; // in the subscriber's memberships, or
                                // tombstone (unsubscribed)
        std::uint64_t since;    // see set_since()
    };

    struct Channel {
        std::vector<Slot> slots;    // subscription order, with tombstones
        std::size_t live = 0;       // slots that are not tombstones
        std::uint32_t pins = 0;     // for_each / on_last calls running
        std::string_view name;      // the map key, owned by the map node
    };

    template <class Visit>
    std::size_t walk(std::string_view channel, std::uint64_t seq,
        Visit &&visit) noexcept;

    // Transparent, so lookups by string_view allocate no std::string.
    struct NameHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept
        {
            return std::hash<std::string_view>{}(s);
        }
    };
    using ChannelMap = std::unordered_map<std::string, Channel, NameHash,
        std::equal_to<>>;
    // Its nodes from a pool of their own (node_pool.hpp: an idle
    // subscription's node, packed, not among the handshake's blocks).
    using SubscriberEntry = std::pair<void *const, Memberships>;
    using SubscriberMap = std::unordered_map<void *, Memberships,
        std::hash<void *>, std::equal_to<void *>,
        NodePoolAllocator<SubscriberEntry>>;
    // libstdc++'s node: the next pointer, then the entry (a larger node
    // elsewhere is simply not pooled: NodePoolAllocator)
    static constexpr std::size_t subscriber_node_size =
        sizeof(void *) + sizeof(SubscriberEntry);

    Channel *find_channel(std::string_view name) noexcept;
    const Channel *find_channel(std::string_view name) const noexcept;
    wscore_router_rc_e add(void *subscriber, std::string_view name);
    // The subscriber's membership of ch, or nullptr.
    Membership *find_membership(void *subscriber, const Channel *ch)
        noexcept;
    // Removes the subscriber's membership at `position` in its list (the
    // iterator's entry); true when its channel has no one left. The
    // channel stays in the map so the caller can still report its name;
    // settle() then drops or compacts it.
    bool remove(SubscriberMap::iterator sub, std::size_t position) noexcept;
    void settle(Channel &channel) noexcept;
    void compact(Channel &channel) noexcept;

    ChannelMap channels_;
    NodePool subscriber_nodes_{subscriber_node_size};   // before the map
    SubscriberMap subscribers_{0, std::hash<void *>{},
        std::equal_to<void *>{},
        NodePoolAllocator<SubscriberEntry>{subscriber_nodes_}};
    std::size_t live_channels_ = 0;   // channels with live > 0
    std::size_t max_channels_per_subscriber_;
    std::size_t max_channel_name_len_;
};

}  // namespace wscore

#endif
