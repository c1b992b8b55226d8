#include <boost/test/unit_test.hpp>

#include <cstring>
#include <string>

#include "client_frames.hpp"
#include "wscore.h"

using namespace wscore::test;

BOOST_AUTO_TEST_SUITE(c_api)

BOOST_AUTO_TEST_CASE(config_defaults)
{
    wscore_config_t cfg;
    wscore_config_default(&cfg);
    BOOST_TEST(cfg.max_frame_size == 1024u * 1024u);
    BOOST_TEST(cfg.max_message_size == 1024u * 1024u);
    BOOST_TEST(cfg.ping_interval_ms == 30'000u);
    BOOST_TEST(cfg.ping_max_missed == 3u);
    BOOST_TEST(cfg.idle_timeout_ms == 0u);
    BOOST_TEST(cfg.close_timeout_ms == 5'000u);
}

BOOST_AUTO_TEST_CASE(session_round_trip)
{
    wscore_config_t cfg;
    wscore_config_default(&cfg);
    wscore_session_t *s = wscore_session_create(&cfg, 0);
    BOOST_TEST_REQUIRE(s != nullptr);
    BOOST_TEST(wscore_session_state(s) == WSCORE_STATE_OPEN);
    BOOST_TEST(wscore_session_next_deadline(s) == 30'000u);

    const Bytes in = concat({text("hi"), client_frame(0x9, bytes("p")), close_frame(1000)});
    std::size_t off = 0;
    std::vector<Recorded> events;
    while (off < in.size()) {
        wscore_event_t ev;
        off += wscore_session_receive(s, in.data() + off, in.size() - off, 5, &ev);
        if (ev.type != WSCORE_EVENT_NONE) events.push_back(record(ev));
        if (ev.type == WSCORE_EVENT_MESSAGE) {
            BOOST_TEST(wscore_session_in_message(s) == 0);
        }
    }
    BOOST_TEST(events.size() == 3u);
    BOOST_TEST(events[0].data == "hi");
    BOOST_TEST(events[2].close_code == 1000);

    const uint8_t *out;
    size_t len;
    wscore_session_output(s, &out, &len);
    BOOST_TEST(std::string(out, out + len) == std::string("\x8a\x01p\x88\x02\x03\xe8"));
    wscore_session_output_consumed(s, len);
    wscore_session_output(s, &out, &len);
    BOOST_TEST(len == 0u);
    BOOST_TEST(wscore_session_state(s) == WSCORE_STATE_CLOSED);
    BOOST_TEST(wscore_session_close_code(s) == 1000);
    wscore_session_destroy(s);
}

BOOST_AUTO_TEST_CASE(session_in_callers_memory)
{
    // The session made in a block the caller owns (the module's session
    // block) behaves as one made by wscore_session_create, and taking it
    // down leaves the block alone. The block is filled first so that an
    // unconstructed member would show.
    wscore_config_t cfg;
    wscore_config_default(&cfg);
    cfg.ping_interval_ms = 7'000;
    alignas(WSCORE_SESSION_ALIGN) unsigned char block[512];
    BOOST_TEST_REQUIRE(wscore_session_size() + 16 <= sizeof(block));
    std::memset(block, 0xa5, sizeof(block));

    wscore_session_t *s = wscore_session_create_in(block + 8, &cfg, 1);
    BOOST_TEST_REQUIRE(static_cast<void *>(s) == block + 8);
    BOOST_TEST(wscore_session_state(s) == WSCORE_STATE_OPEN);
    BOOST_TEST(wscore_session_next_deadline(s) == 7'001u);

    const Bytes in = concat({text("hello"), close_frame(1000)});
    std::size_t off = 0;
    std::vector<Recorded> events;
    while (off < in.size()) {
        wscore_event_t ev;
        off += wscore_session_receive(s, in.data() + off, in.size() - off, 5, &ev);
        if (ev.type != WSCORE_EVENT_NONE) events.push_back(record(ev));
    }
    BOOST_TEST(events.size() == 2u);
    BOOST_TEST(events[0].data == "hello");
    BOOST_TEST(events[1].close_code == 1000);

    wscore_session_destroy_in(s);
    // Nothing of the block around the session was written.
    for (std::size_t i = 0; i < 8; ++i) BOOST_TEST(block[i] == 0xa5);
    for (std::size_t i = 8 + wscore_session_size(); i < sizeof(block); ++i) {
        BOOST_TEST(block[i] == 0xa5);
    }
}

BOOST_AUTO_TEST_CASE(close_and_timer)
{
    wscore_config_t cfg;
    wscore_config_default(&cfg);
    wscore_session_t *s = wscore_session_create(&cfg, 0);
    wscore_session_close(s, 1001, nullptr, 10);
    BOOST_TEST(wscore_session_state(s) == WSCORE_STATE_CLOSING);
    BOOST_TEST(wscore_session_next_deadline(s) == 5010u);
    BOOST_TEST(wscore_session_on_timer(s, 5010) == WSCORE_TIMER_CLOSE_EXPIRED);
    BOOST_TEST(wscore_session_close_code(s) == 1001);
    wscore_session_destroy(s);
    wscore_session_destroy(nullptr);
}

BOOST_AUTO_TEST_CASE(null_config_uses_defaults)
{
    wscore_session_t *s = wscore_session_create(nullptr, 0);
    BOOST_TEST_REQUIRE(s != nullptr);
    BOOST_TEST(wscore_session_next_deadline(s) == 30'000u);
    wscore_event_t ev;
    BOOST_TEST(wscore_session_receive(s, nullptr, 0, 0, &ev) == 0u);
    BOOST_TEST(ev.type == WSCORE_EVENT_NONE);
    wscore_session_destroy(s);
}

BOOST_AUTO_TEST_SUITE_END()
