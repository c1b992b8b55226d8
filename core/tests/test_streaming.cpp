// Streamed messages (a proxy relays large messages piece by piece): what
// a session reports with wscore_session_stream_messages on, and that the
// whole message's rules (size limit, UTF-8) still hold across pieces.

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "client_frames.hpp"
#include "wscore.h"

using namespace wscore::test;

namespace {

struct Piece {
    wscore_event_type_e type;
    int opcode;
    std::size_t len;
    int first;
    int fin;
    std::string data;
};

struct Streamer {
    wscore_session_t *s = nullptr;

    explicit Streamer(std::uint64_t max_message = 0, bool stream = true)
    {
        wscore_config_t cfg;
        wscore_config_default(&cfg);
        cfg.ping_interval_ms = 0;
        cfg.max_message_size = max_message;
        cfg.max_frame_size = 0;
        s = wscore_session_create(&cfg, 0);
        wscore_session_stream_messages(s, stream ? 1 : 0);
    }
    ~Streamer() { wscore_session_destroy(s); }

    // Feeds in chunks of at most step bytes, as sockets deliver them.
    std::vector<Piece> feed(const Bytes &in, std::size_t step)
    {
        std::vector<Piece> out;
        std::size_t off = 0;
        while (off < in.size()) {
            std::size_t n = std::min(step, in.size() - off);
            const std::uint8_t *p = in.data() + off;
            while (n > 0) {
                wscore_event_t ev;
                const std::size_t used =
                    wscore_session_receive(s, p, n, 0, &ev);
                p += used;
                n -= used;
                off += used;
                if (ev.type != WSCORE_EVENT_NONE) {
                    out.push_back({ev.type, ev.opcode, ev.len, ev.first,
                                   ev.fin,
                                   std::string(reinterpret_cast<const char *>(
                                       ev.data), ev.len)});
                }
                if (used == 0 && ev.type == WSCORE_EVENT_NONE) {
                    return out;
                }
            }
        }
        return out;
    }
};

std::string pattern(std::size_t n)
{
    std::string s(n, 'a');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>('a' + i % 26);
    }
    return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(streaming)

BOOST_AUTO_TEST_CASE(a_large_frame_comes_in_pieces_no_larger_than_the_input)
{
    Streamer st;
    const std::string payload = pattern(300000);
    const auto pieces = st.feed(client_frame(0x2, bytes(payload)), 65536);

    BOOST_REQUIRE_GE(pieces.size(), 5u);
    std::string joined;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        BOOST_TEST(pieces[i].type == WSCORE_EVENT_FRAGMENT);
        BOOST_TEST(pieces[i].opcode == WSCORE_OP_BINARY);
        BOOST_TEST(pieces[i].first == (i == 0 ? 1 : 0));
        BOOST_TEST(pieces[i].fin == (i + 1 == pieces.size() ? 1 : 0));
        BOOST_TEST(pieces[i].len <= 65536u);
        joined += pieces[i].data;
    }
    BOOST_TEST(joined == payload);
}

BOOST_AUTO_TEST_CASE(small_messages_stay_whole)
{
    Streamer st;
    const Bytes in = concat({
        client_frame(0x1, bytes("hel"), FrameSpec{.fin = false}),
        client_frame(0x0, bytes("lo"))});
    const auto pieces = st.feed(in, 1);

    BOOST_REQUIRE_EQUAL(pieces.size(), 1u);
    BOOST_TEST(pieces[0].type == WSCORE_EVENT_MESSAGE);
    BOOST_TEST(pieces[0].data == "hello");
}

BOOST_AUTO_TEST_CASE(without_streaming_the_message_is_reassembled)
{
    Streamer st(0, false);
    const std::string payload = pattern(100000);
    const auto pieces = st.feed(client_frame(0x2, bytes(payload)), 4096);

    BOOST_REQUIRE_EQUAL(pieces.size(), 1u);
    BOOST_TEST(pieces[0].type == WSCORE_EVENT_MESSAGE);
    BOOST_TEST(pieces[0].len == payload.size());
}

BOOST_AUTO_TEST_CASE(fragments_and_pings_between_them_keep_their_order)
{
    Streamer st;
    const std::string a = pattern(20000), b = pattern(5000);
    const Bytes in = concat({
        client_frame(0x1, bytes(a), FrameSpec{.fin = false}),
        client_frame(0x9, bytes("p")),
        client_frame(0x0, bytes(b), FrameSpec{.fin = false}),
        client_frame(0x0, {})});
    const auto pieces = st.feed(in, 100000);

    BOOST_REQUIRE_EQUAL(pieces.size(), 4u);
    BOOST_TEST(pieces[0].type == WSCORE_EVENT_FRAGMENT);
    BOOST_TEST(pieces[0].first == 1);
    BOOST_TEST(pieces[0].data == a);
    BOOST_TEST(pieces[1].type == WSCORE_EVENT_PING);
    BOOST_TEST(pieces[2].type == WSCORE_EVENT_FRAGMENT);
    BOOST_TEST(pieces[2].data == b);
    BOOST_TEST(pieces[2].first == 0);
    BOOST_TEST(pieces[2].fin == 0);
    BOOST_TEST(pieces[3].type == WSCORE_EVENT_FRAGMENT);
    BOOST_TEST(pieces[3].len == 0u);
    BOOST_TEST(pieces[3].fin == 1);
}

BOOST_AUTO_TEST_CASE(the_limit_counts_the_pieces_already_streamed)
{
    Streamer st(50000);
    const std::string part = pattern(20000);
    const Bytes in = concat({
        client_frame(0x2, bytes(part), FrameSpec{.fin = false}),
        client_frame(0x0, bytes(part), FrameSpec{.fin = false}),
        client_frame(0x0, bytes(part))});
    const auto pieces = st.feed(in, 100000);

    BOOST_REQUIRE_EQUAL(pieces.size(), 3u);
    BOOST_TEST(pieces[0].type == WSCORE_EVENT_FRAGMENT);
    BOOST_TEST(pieces[1].type == WSCORE_EVENT_FRAGMENT);
    BOOST_TEST(pieces[2].type == WSCORE_EVENT_ERROR);
    BOOST_TEST(wscore_session_close_code(st.s) == WSCORE_CLOSE_MESSAGE_TOO_BIG);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_after_a_streamed_piece_is_1007)
{
    Streamer st;
    Bytes bad = bytes(pattern(30000));
    bad.push_back(0xff);
    const auto pieces = st.feed(concat({
        client_frame(0x1, bytes(pattern(20000)), FrameSpec{.fin = false}),
        client_frame(0x0, bad)}), 100000);

    BOOST_REQUIRE_EQUAL(pieces.size(), 2u);
    BOOST_TEST(pieces[0].type == WSCORE_EVENT_FRAGMENT);
    BOOST_TEST(pieces[1].type == WSCORE_EVENT_ERROR);
    BOOST_TEST(wscore_session_close_code(st.s) == WSCORE_CLOSE_INVALID_PAYLOAD);
}

BOOST_AUTO_TEST_CASE(a_utf8_sequence_may_span_two_pieces)
{
    Streamer st;
    // 16383 ASCII bytes, then a 2-byte sequence cut by the input's end
    std::string t = pattern(16383) + "\xc3\xa9" + pattern(1000);
    const Bytes frame = client_frame(0x1, bytes(t));
    const std::size_t header = frame.size() - t.size();
    const auto pieces = st.feed(frame, header + 16384);

    BOOST_REQUIRE_EQUAL(pieces.size(), 2u);
    BOOST_TEST(pieces[0].type == WSCORE_EVENT_FRAGMENT);
    BOOST_TEST(pieces[1].type == WSCORE_EVENT_FRAGMENT);
    BOOST_TEST(pieces[1].fin == 1);
    BOOST_TEST(pieces[0].data + pieces[1].data == t);
}

BOOST_AUTO_TEST_SUITE_END()
