// The one rule for channel names, used wherever a name enters: the
// publisher URL, ws_subscribe/ws_publish, the control protocol, the user
// channel of a token, messages from Redis and the cross-worker transport.
//
// A name is 1..max_channel_name_len bytes of printable ASCII (0x21-0x7e)
// other than '"' and '\\', so it appears in JSON answers, log lines,
// metrics labels and Redis keys as it is, with no escaping anywhere. '*'
// and '?' are refused too: they are the wildcards of allow-list patterns
// (channel_pattern.hpp), and a subscribe to "room:*" must not silently
// become a subscription to the literal channel "room:*".
//
// A pattern (ws_channels_allow, a token's channel claim) follows the same
// rule with '*' and '?' allowed as wildcards.

#ifndef WSCORE_CHANNEL_NAME_HPP
#define WSCORE_CHANNEL_NAME_HPP

#include <cstddef>
#include <string_view>

namespace wscore {

inline constexpr std::size_t max_channel_name_len = 255;

bool channel_name_valid(std::string_view name) noexcept;
bool channel_pattern_valid(std::string_view pattern) noexcept;

}  // namespace wscore

#endif
