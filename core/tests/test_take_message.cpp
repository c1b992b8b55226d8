// wscore_session_take_message: the block of a message the core reassembled
// goes to the caller with the payload at WSCORE_MESSAGE_HEADROOM, and the
// session goes on with a buffer of its own; nothing else is handed out.

#include <boost/test/unit_test.hpp>

#include <cstring>
#include <string>

#include "client_frames.hpp"
#include "wscore.h"

using namespace wscore::test;

namespace {

struct CSession {
    wscore_session_t *s = wscore_session_create(nullptr, 0);
    ~CSession() { wscore_session_destroy(s); }

    // Feeds input until an event comes (or the input is used up).
    wscore_event_t next(const Bytes &in, std::size_t &at)
    {
        wscore_event_t ev{};
        while (at < in.size()) {
            at += wscore_session_receive(s, in.data() + at, in.size() - at, 0,
                                         &ev);
            if (ev.type != WSCORE_EVENT_NONE) {
                break;
            }
        }
        return ev;
    }
};

Bytes filled(std::size_t n, std::uint8_t seed)
{
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = static_cast<std::uint8_t>(seed + i * 7);
    }
    return b;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(take_message)

BOOST_AUTO_TEST_CASE(a_reassembled_message_is_handed_over_in_place)
{
    CSession c;
    const Bytes first = filled(70000, 1);
    const Bytes second = filled(300, 9);
    FrameSpec more;
    more.fin = false;
    const Bytes in = concat({
        client_frame(0x2, Bytes(first.begin(), first.begin() + 1000), more),
        client_frame(0x0, Bytes(first.begin() + 1000, first.end())),
        client_frame(0x2, second)});

    std::size_t at = 0;
    wscore_event_t ev = c.next(in, at);
    BOOST_REQUIRE(ev.type == WSCORE_EVENT_MESSAGE);
    BOOST_REQUIRE_EQUAL(ev.len, first.size());

    std::uint8_t *block = wscore_session_take_message(c.s);
    BOOST_REQUIRE(block != nullptr);
    BOOST_TEST(block + WSCORE_MESSAGE_HEADROOM == ev.data);
    BOOST_TEST(std::memcmp(ev.data, first.data(), first.size()) == 0);
    // once only
    BOOST_TEST(wscore_session_take_message(c.s) == nullptr);

    // the session goes on in a buffer of its own: the taken one is intact
    ev = c.next(in, at);
    BOOST_REQUIRE(ev.type == WSCORE_EVENT_MESSAGE);
    BOOST_TEST(std::string(ev.data, ev.data + ev.len)
               == std::string(second.begin(), second.end()));
    BOOST_TEST(ev.data != block + WSCORE_MESSAGE_HEADROOM);
    BOOST_TEST(std::memcmp(block + WSCORE_MESSAGE_HEADROOM, first.data(),
                           first.size()) == 0);
    wscore_message_free(block);
}

BOOST_AUTO_TEST_CASE(nothing_but_a_message_is_handed_over)
{
    CSession c;
    BOOST_TEST(wscore_session_take_message(c.s) == nullptr);

    // a ping inside a fragmented message: its payload shares the buffer
    FrameSpec more;
    more.fin = false;
    const Bytes in = concat({client_frame(0x1, bytes("hel"), more),
                             client_frame(0x9, bytes("pp")),
                             client_frame(0x0, bytes("lo"))});
    std::size_t at = 0;
    wscore_event_t ev = c.next(in, at);
    BOOST_REQUIRE(ev.type == WSCORE_EVENT_PING);
    BOOST_TEST(wscore_session_take_message(c.s) == nullptr);

    ev = c.next(in, at);
    BOOST_REQUIRE(ev.type == WSCORE_EVENT_MESSAGE);
    BOOST_TEST(std::string(ev.data, ev.data + ev.len) == "hello");

    // a streamed message's last piece is not a whole message
    wscore_session_stream_messages(c.s, 1);
    const Bytes big = filled(WSCORE_STREAM_THRESHOLD + 10, 3);
    const Bytes streamed = concat({
        client_frame(0x2, Bytes(big.begin(), big.end() - 5), more),
        client_frame(0x0, Bytes(big.end() - 5, big.end()))});
    at = 0;
    do {
        ev = c.next(streamed, at);
        BOOST_REQUIRE(ev.type == WSCORE_EVENT_FRAGMENT);
        BOOST_TEST(wscore_session_take_message(c.s) == nullptr);
    } while (!ev.fin);
}

BOOST_AUTO_TEST_SUITE_END()
