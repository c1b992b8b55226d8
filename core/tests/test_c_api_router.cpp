#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "wscore.h"

namespace {

struct Sessions {
    wscore_router_t *router;
    std::vector<int *> seen;
    std::vector<std::string> emptied;
};

void record_visit(void *ctx, void *subscriber)
{
    auto *s = static_cast<Sessions *>(ctx);
    s->seen.push_back(static_cast<int *>(subscriber));
    // The module's typical reaction to a dead peer during fan-out.
    if (*static_cast<int *>(subscriber) < 0) {
        wscore_router_unsubscribe_all(s->router, subscriber, nullptr, nullptr);
    }
}

void record_last(void *ctx, const char *channel, size_t len)
{
    static_cast<Sessions *>(ctx)->emptied.emplace_back(channel, len);
}

int sub(wscore_router_t *r, int *s, const std::string &ch)
{
    return wscore_router_subscribe(r, s, ch.data(), ch.size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(c_api_router)

BOOST_AUTO_TEST_CASE(round_trip)
{
    wscore_router_config_t cfg{4, 32};
    wscore_router_t *r = wscore_router_create(&cfg);
    BOOST_TEST_REQUIRE(r != nullptr);
    int a = 1, b = -1, c = 3;
    Sessions sessions{r, {}, {}};

    BOOST_TEST(sub(r, &a, "room:1") == WSCORE_ROUTER_FIRST);
    BOOST_TEST(sub(r, &b, "room:1") == WSCORE_ROUTER_OK);
    BOOST_TEST(sub(r, &c, "room:1") == WSCORE_ROUTER_OK);
    BOOST_TEST(sub(r, &b, "room:2") == WSCORE_ROUTER_FIRST);
    BOOST_TEST(sub(r, &a, "room:1") == WSCORE_ROUTER_EXISTS);
    BOOST_TEST(sub(r, &a, std::string(33, 'x')) == WSCORE_ROUTER_BAD_NAME);
    BOOST_TEST(wscore_router_subscribers(r, "room:1", 6) == 3u);
    BOOST_TEST(wscore_router_channels_of(r, &b) == 2u);

    // b goes away during the fan-out; c is still visited.
    BOOST_TEST(wscore_router_for_each(r, "room:1", 6, record_visit,
                                      &sessions) == 3u);
    BOOST_TEST(sessions.seen == (std::vector<int *>{&a, &b, &c}),
               boost::test_tools::per_element());
    BOOST_TEST(wscore_router_subscribers(r, "room:1", 6) == 2u);
    BOOST_TEST(wscore_router_subscribers(r, "room:2", 6) == 0u);
    BOOST_TEST(wscore_router_channels_of(r, &b) == 0u);

    // c joined room:1 at sequence number 7: message 7 is not for it.
    BOOST_TEST(wscore_router_set_since(r, &c, "room:1", 6, 7) == WSCORE_ROUTER_OK);
    BOOST_TEST(wscore_router_set_since(r, &b, "room:1", 6, 7) ==
               WSCORE_ROUTER_NOT_FOUND);
    sessions.seen.clear();
    BOOST_TEST(wscore_router_for_each_after(r, "room:1", 6, 7, record_visit,
                                            &sessions) == 1u);
    BOOST_TEST(wscore_router_for_each_after(r, "room:1", 6, 8, record_visit,
                                            &sessions) == 2u);
    BOOST_TEST(sessions.seen == (std::vector<int *>{&a, &a, &c}),
               boost::test_tools::per_element());

    // the same walk with each subscriber's mark
    std::vector<std::pair<void *, std::uint64_t>> marks;
    BOOST_TEST(wscore_router_for_each_since(r, "room:1", 6, 8,
        [](void *ctx, void *s, std::uint64_t since) {
            static_cast<std::vector<std::pair<void *, std::uint64_t>> *>(ctx)
                ->emplace_back(s, since);
        },
        &marks) == 2u);
    BOOST_TEST(marks.size() == 2u);
    BOOST_TEST((marks[0] == std::pair<void *, std::uint64_t>{&a, 0}));
    BOOST_TEST((marks[1] == std::pair<void *, std::uint64_t>{&c, 7}));

    BOOST_TEST(wscore_router_unsubscribe(r, &a, "room:1", 6) == WSCORE_ROUTER_OK);
    BOOST_TEST(wscore_router_unsubscribe(r, &a, "room:1", 6) ==
               WSCORE_ROUTER_NOT_FOUND);
    wscore_router_unsubscribe_all(r, &c, record_last, &sessions);
    BOOST_TEST(sessions.emptied == std::vector<std::string>{"room:1"},
               boost::test_tools::per_element());
    BOOST_TEST(wscore_router_for_each(r, "room:1", 6, nullptr, nullptr) == 0u);
    wscore_router_destroy(r);
}

BOOST_AUTO_TEST_CASE(null_arguments)
{
    wscore_router_t *r = wscore_router_create(nullptr);   // no limits
    BOOST_TEST_REQUIRE(r != nullptr);
    int a = 0;
    BOOST_TEST(wscore_router_subscribe(r, &a, nullptr, 0) ==
               WSCORE_ROUTER_BAD_NAME);
    BOOST_TEST(wscore_router_unsubscribe(r, &a, nullptr, 0) ==
               WSCORE_ROUTER_BAD_NAME);
    BOOST_TEST(wscore_router_subscribers(r, nullptr, 0) == 0u);
    BOOST_TEST(wscore_router_for_each(r, nullptr, 0, nullptr, nullptr) == 0u);
    for (int i = 0; i < 100; ++i) {
        // append, not operator+: see numbered() in test_router.cpp.
        const std::string name = std::string("c").append(std::to_string(i));
        BOOST_TEST(sub(r, &a, name) == WSCORE_ROUTER_FIRST);
    }
    // Destroying a router that still has subscriptions frees them all.
    wscore_router_destroy(r);
    wscore_router_destroy(nullptr);
}

BOOST_AUTO_TEST_CASE(pattern_match)
{
    BOOST_TEST(wscore_channel_pattern_match("room:*", 6, "room:42", 7) == 1);
    BOOST_TEST(wscore_channel_pattern_match("room:*", 6, "user:42", 7) == 0);
    BOOST_TEST(wscore_channel_pattern_match("a?c", 3, "abcd", 3) == 1);
    BOOST_TEST(wscore_channel_pattern_match(nullptr, 0, nullptr, 0) == 1);
    BOOST_TEST(wscore_channel_pattern_match("*", 1, nullptr, 0) == 1);
}

BOOST_AUTO_TEST_SUITE_END()
