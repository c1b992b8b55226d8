// Reading straight into the reassembly buffer (receive_window, received):
// the same events, output and state as feeding the same bytes through
// receive(), whatever the split, with every rule applied at the same byte:
// UTF-8 across direct reads, size limits, control frames between
// fragments; and no window where the payload must not go there.

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstring>
#include <string>

#include "client_frames.hpp"
#include "session.hpp"
#include "wscore.h"

using namespace wscore;
using namespace wscore::test;

namespace {

Bytes filled(std::size_t n, std::uint8_t seed)
{
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = static_cast<std::uint8_t>(seed + i * 13);
    }
    return b;
}

struct Direct {
    Run run;
    std::size_t direct_bytes = 0;   // bytes that went through a window
    std::size_t windows = 0;
};

// What the module's read loop does: a window while the core offers one
// (reads of at most max bytes, and of 1..split where split > 1), else a
// chunk through receive().
Direct feed_direct(const wscore_config_t &cfg, const Bytes &input,
    std::size_t max, unsigned split, unsigned seed = 1)
{
    Session s(cfg, 0);
    Direct d;
    std::mt19937 rng(seed);
    std::size_t off = 0;
    while (off < input.size()) {
        const std::size_t n = next_chunk_size(input.size() - off, split, rng);
        const std::span<std::uint8_t> window = s.receive_window(max);
        if (!window.empty()) {
            BOOST_TEST_REQUIRE(window.size() <= max);
            const std::size_t got = std::min(window.size(), n);
            std::memcpy(window.data(), input.data() + off, got);
            wscore_event_t ev;
            s.received(got, 0, ev);
            if (ev.type != WSCORE_EVENT_NONE) {
                d.run.events.push_back(record(ev));
            }
            off += got;
            d.direct_bytes += got;
            d.windows++;
            continue;
        }
        feed_chunk(s, std::span(input).subspan(off, n), 0, d.run.events);
        off += n;
    }
    const auto out = s.output();
    d.run.output.assign(out.begin(), out.end());
    d.run.state = s.state();
    return d;
}

// The same as receive() alone, for several splits; returns the direct
// bytes of the whole-input run.
std::size_t same_as_receive(const wscore_config_t &cfg, const Bytes &input,
    std::size_t max = 1 << 20)
{
    const Run expected = feed(cfg, input, 0);
    std::size_t direct = 0;
    for (unsigned split : {0u, 1u, 7u, 1000u, 70000u}) {
        for (unsigned seed = 1; seed <= (split > 1 ? 5u : 1u); ++seed) {
            const Direct d = feed_direct(cfg, input, max, split, seed);
            BOOST_TEST(d.run.events == expected.events,
                       boost::test_tools::per_element());
            BOOST_TEST(d.run.output == expected.output);
            BOOST_TEST(d.run.state == expected.state);
            if (split == 1000 && seed == 1) {
                direct = d.direct_bytes;
            }
        }
    }
    return direct;
}

Bytes more_frame(std::uint8_t opcode, const Bytes &payload)
{
    FrameSpec more;
    more.fin = false;
    return client_frame(opcode, payload, more);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(receive_window)

BOOST_AUTO_TEST_CASE(a_large_message_read_in_place_is_the_same_message)
{
    const Bytes payload = filled(300000, 5);
    const Bytes input = concat({client_frame(0x2, payload),
                                text("after"), client_frame(0x2, payload)});
    const std::size_t direct = same_as_receive(test_config(), input);
    // most of each large payload went straight in
    BOOST_TEST(direct > 2 * (payload.size() - 1000));
}

BOOST_AUTO_TEST_CASE(the_window_is_what_the_frame_has_left_at_most_max)
{
    Session s(test_config(), 0);
    const Bytes payload = filled(5000, 1);
    const Bytes frame = client_frame(0x2, payload);
    wscore_event_t ev;

    // between frames: nothing
    BOOST_TEST(s.receive_window(1 << 20).empty());

    const std::size_t first = frame.size() - payload.size() + 100;
    BOOST_TEST(s.receive(std::span(frame).first(first), 0, ev) == first);
    BOOST_TEST(ev.type == WSCORE_EVENT_NONE);

    std::span<std::uint8_t> w = s.receive_window(1000);
    BOOST_TEST(w.size() == 1000u);
    w = s.receive_window(1 << 20);
    BOOST_REQUIRE_EQUAL(w.size(), 4900u);

    std::memcpy(w.data(), frame.data() + first, 4899);
    s.received(4899, 0, ev);
    BOOST_TEST(ev.type == WSCORE_EVENT_NONE);
    w = s.receive_window(1 << 20);
    BOOST_REQUIRE_EQUAL(w.size(), 1u);
    w[0] = frame.back();
    s.received(1, 0, ev);
    BOOST_REQUIRE(ev.type == WSCORE_EVENT_MESSAGE);
    BOOST_TEST(Bytes(ev.data, ev.data + ev.len) == payload);
    BOOST_TEST(s.receive_window(1 << 20).empty());
}

BOOST_AUTO_TEST_CASE(more_than_the_window_is_refused)
{
    Session s(test_config(), 0);
    const Bytes frame = client_frame(0x2, filled(5000, 1));
    wscore_event_t ev;
    s.receive(std::span(frame).first(100), 0, ev);
    const std::span<std::uint8_t> w = s.receive_window(1 << 20);
    BOOST_REQUIRE(!w.empty());
    s.received(w.size() + 1, 0, ev);
    BOOST_TEST(ev.type == WSCORE_EVENT_ERROR);
    BOOST_TEST(ev.close_code == WSCORE_CLOSE_INTERNAL_ERROR);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_fails_at_the_direct_read_that_brings_it)
{
    // valid text with a multi-byte character cut by every read, then one
    // byte that cannot start a character at a known offset
    std::string good;
    while (good.size() < 40000) {
        good += "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 ";
    }
    const Bytes ok = client_frame(0x1, bytes(good));
    same_as_receive(test_config(), concat({ok, ok}));

    std::string bad = good;
    const std::size_t at = 30001;
    bad[at] = '\xff';
    const Bytes frame = client_frame(0x1, bytes(bad));
    same_as_receive(test_config(), frame);

    // by hand: the read that stops before the bad byte is fine, the one
    // that brings it fails with 1007
    Session s(test_config(), 0);
    wscore_event_t ev;
    const std::size_t header = frame.size() - bad.size();
    s.receive(std::span(frame).first(header + 10), 0, ev);
    std::size_t off = header + 10;
    std::span<std::uint8_t> w = s.receive_window(1 << 20);
    BOOST_REQUIRE(!w.empty());
    const std::size_t upto = header + at;   // the bad byte not included
    std::memcpy(w.data(), frame.data() + off, upto - off);
    s.received(upto - off, 0, ev);
    BOOST_TEST(ev.type == WSCORE_EVENT_NONE);
    off = upto;
    w = s.receive_window(1 << 20);
    BOOST_REQUIRE(!w.empty());
    std::memcpy(w.data(), frame.data() + off, 1);
    s.received(1, 0, ev);
    BOOST_TEST(ev.type == WSCORE_EVENT_ERROR);
    BOOST_TEST(ev.close_code == WSCORE_CLOSE_INVALID_PAYLOAD);
    BOOST_TEST(s.state() == WSCORE_STATE_CLOSED);
    BOOST_TEST(s.receive_window(1 << 20).empty());

    // a character cut at the end of the message
    std::string truncated = good;
    truncated += "\xe2\x82";
    same_as_receive(test_config(), client_frame(0x1, bytes(truncated)));
}

BOOST_AUTO_TEST_CASE(limits_hold_for_messages_read_in_place)
{
    wscore_config_t cfg = test_config();
    cfg.max_message_size = 100000;
    cfg.max_frame_size = 0;
    // a frame over the limit fails at its header: no window for it
    const Bytes big = client_frame(0x2, filled(100001, 1));
    same_as_receive(cfg, big);
    {
        Session s(cfg, 0);
        wscore_event_t ev;
        s.receive(std::span(big).first(20), 0, ev);
        BOOST_TEST(ev.type == WSCORE_EVENT_ERROR);
        BOOST_TEST(ev.close_code == WSCORE_CLOSE_MESSAGE_TOO_BIG);
        BOOST_TEST(s.receive_window(1 << 20).empty());
    }
    // fragments that each fit but together do not: 1009 at the second
    // fragment's header, after the first went in place
    const Bytes frags = concat({more_frame(0x2, filled(60000, 2)),
                                client_frame(0x0, filled(40001, 3))});
    const std::size_t direct = same_as_receive(cfg, frags);
    BOOST_TEST(direct > 50000u);
    const Run run = feed(cfg, frags, 0);
    BOOST_REQUIRE(!run.events.empty());
    BOOST_TEST(run.events.back().close_code == WSCORE_CLOSE_MESSAGE_TOO_BIG);
    // exactly at the limit is fine
    same_as_receive(cfg, concat({more_frame(0x2, filled(60000, 2)),
                                 client_frame(0x0, filled(40000, 3))}));
}

BOOST_AUTO_TEST_CASE(control_frames_between_fragments_read_in_place)
{
    const Bytes input = concat({
        more_frame(0x1, bytes(std::string(70000, 'a'))),
        client_frame(0x9, bytes("ping")),
        more_frame(0x0, bytes(std::string(50000, 'b'))),
        client_frame(0xA, bytes("pong")),
        client_frame(0x0, bytes(std::string(30000, 'c'))),
        close_frame(1000, "bye")});
    const std::size_t direct = same_as_receive(test_config(), input);
    BOOST_TEST(direct > 100000u);
    const Run run = feed(test_config(), input, 0);
    BOOST_REQUIRE_EQUAL(run.events.size(), 4u);
    BOOST_TEST(run.events[0].type == WSCORE_EVENT_PING);
    BOOST_TEST(run.events[2].type == WSCORE_EVENT_MESSAGE);
    BOOST_TEST(run.events[2].data.size() == 150000u);
}

BOOST_AUTO_TEST_CASE(no_window_for_control_payload_or_after_the_end)
{
    Session s(test_config(), 0);
    wscore_event_t ev;
    const Bytes ping = client_frame(0x9, filled(100, 1));
    s.receive(std::span(ping).first(10), 0, ev);
    BOOST_TEST(s.receive_window(1 << 20).empty());
    s.receive(std::span(ping).subspan(10), 0, ev);
    BOOST_TEST(ev.type == WSCORE_EVENT_PING);

    // after the peer's close nothing more is read in place
    const Bytes in = concat({close_frame(1000), client_frame(0x2,
                                                             filled(9000, 2))});
    std::size_t off = 0;
    while (off < in.size() - 8000) {
        off += s.receive(std::span(in).subspan(off, in.size() - 8000 - off),
                         0, ev);
    }
    BOOST_TEST(s.state() == WSCORE_STATE_CLOSED);
    BOOST_TEST(s.receive_window(1 << 20).empty());
}

BOOST_AUTO_TEST_CASE(no_window_for_compressed_payload)
{
    Session s(test_config(), 0);
    BOOST_TEST_REQUIRE(s.enable_deflate(DeflateParams{}));
    FrameSpec compressed;
    compressed.rsv = 0x4;
    // the header alone (8 bytes) decides: RSV1 set
    const Bytes frame = client_frame(0x2, filled(5000, 1), compressed);
    wscore_event_t ev;
    BOOST_TEST(s.receive(std::span(frame).first(8), 0, ev) == 8u);
    BOOST_TEST(s.state() == WSCORE_STATE_OPEN);
    BOOST_TEST(s.receive_window(1 << 20).empty());
}

BOOST_AUTO_TEST_CASE(no_window_while_messages_are_streamed)
{
    Session s(test_config(), 0);
    s.stream_messages(true);
    const Bytes frame = client_frame(0x2, filled(WSCORE_STREAM_THRESHOLD * 3,
                                                 1));
    wscore_event_t ev;
    s.receive(std::span(frame).first(100), 0, ev);
    BOOST_TEST(s.state() == WSCORE_STATE_OPEN);
    BOOST_TEST(s.receive_window(1 << 20).empty());
}

BOOST_AUTO_TEST_CASE(the_c_api_reads_in_place_and_hands_the_message_over)
{
    wscore_session_t *s = wscore_session_create(nullptr, 0);
    const Bytes payload = filled(200000, 7);
    const Bytes frame = client_frame(0x2, payload);
    wscore_event_t ev;
    std::size_t len = 1;
    BOOST_TEST(wscore_session_receive_window(s, 1 << 20, &len) == nullptr);
    BOOST_TEST(len == 0u);
    std::size_t off = wscore_session_receive(s, frame.data(), 1000, 0, &ev);
    while (off < frame.size()) {
        std::uint8_t *w = wscore_session_receive_window(s, 65536, &len);
        BOOST_REQUIRE(w != nullptr);
        BOOST_REQUIRE(len <= 65536u);
        std::memcpy(w, frame.data() + off, len);
        off += len;
        wscore_session_received(s, len, 0, &ev);
        BOOST_REQUIRE(ev.type != WSCORE_EVENT_ERROR);
    }
    BOOST_REQUIRE(ev.type == WSCORE_EVENT_MESSAGE);
    std::uint8_t *block = wscore_session_take_message(s);
    BOOST_REQUIRE(block != nullptr);
    BOOST_TEST(std::memcmp(block + WSCORE_MESSAGE_HEADROOM, payload.data(),
                           payload.size()) == 0);
    wscore_message_free(block);
    wscore_session_destroy(s);
}

BOOST_AUTO_TEST_SUITE_END()
