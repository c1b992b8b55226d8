// The session with permessage-deflate negotiated: RSV1 rules of RFC 7692
// section 6, compressed and fragmented messages, limits while inflating,
// corrupt data; every input also fed byte by byte and in random splits.

#include <boost/test/unit_test.hpp>

#include <zlib.h>

#include <string>

#include "client_frames.hpp"
#include "message_deflater.hpp"
#include "session.hpp"

using namespace wscore;
using namespace wscore::test;

namespace {

DeflateParams params(std::uint8_t client_bits = 15, bool client_nct = false)
{
    DeflateParams p;
    p.client_max_window_bits = client_bits;
    p.client_no_context_takeover = client_nct;
    return p;
}

struct DeflateRun {
    std::vector<Recorded> events;
    std::string output;
};

DeflateRun feed_deflate(const Bytes &input, unsigned split, unsigned seed,
    const wscore_config_t &cfg, const DeflateParams &p)
{
    Session s(cfg, 0);
    BOOST_TEST_REQUIRE(s.enable_deflate(p));
    DeflateRun run;
    std::mt19937 rng(seed);
    std::size_t off = 0;
    while (off < input.size()) {
        const std::size_t n = next_chunk_size(input.size() - off, split, rng);
        feed_chunk(s, std::span(input).subspan(off, n), 0, run.events);
        off += n;
    }
    run.output.assign(s.output().begin(), s.output().end());
    return run;
}

// Same events whatever the split; returns them.
std::vector<Recorded> run(const Bytes &input,
    const wscore_config_t &cfg = test_config(),
    const DeflateParams &p = params())
{
    const DeflateRun whole = feed_deflate(input, 0, 0, cfg, p);
    const DeflateRun bytewise = feed_deflate(input, 1, 0, cfg, p);
    BOOST_TEST(bytewise.events == whole.events,
               boost::test_tools::per_element());
    BOOST_TEST(bytewise.output == whole.output);
    for (unsigned seed = 1; seed <= 10; ++seed) {
        const DeflateRun random = feed_deflate(input, 2 + seed * 50, seed,
                                               cfg, p);
        BOOST_TEST(random.events == whole.events,
                   boost::test_tools::per_element());
    }
    return whole.events;
}

Recorded message(int opcode, std::string data)
{
    Recorded r;
    r.type = WSCORE_EVENT_MESSAGE;
    r.opcode = opcode;
    r.data = std::move(data);
    return r;
}

Recorded error(int code, std::string why)
{
    Recorded r;
    r.type = WSCORE_EVENT_ERROR;
    r.close_code = code;
    r.error = std::move(why);
    return r;
}

FrameSpec rsv1(bool fin = true)
{
    FrameSpec spec;
    spec.rsv = 4;
    spec.fin = fin;
    return spec;
}

FrameSpec fragment(bool fin)
{
    FrameSpec spec;
    spec.fin = fin;
    return spec;
}

Bytes compressed(std::string_view text, bool takeover_deflater = false)
{
    static MessageDeflater shared({15, 6, 8, false});
    static MessageDeflater keeping({15, 6, 8, true});
    MessageDeflater &d = takeover_deflater ? keeping : shared;
    const auto z = d.compress({reinterpret_cast<const std::uint8_t *>(
        text.data()), text.size()});
    return Bytes(z.begin(), z.end());
}

const Bytes hello_rfc = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};

}  // namespace

BOOST_AUTO_TEST_SUITE(deflate_session)

BOOST_AUTO_TEST_CASE(compressed_text_and_binary)
{
    const auto events = run(concat({
        client_frame(0x1, hello_rfc, rsv1()),
        client_frame(0x2, compressed(std::string(5000, 'b')), rsv1()),
        text("plain"),  // uncompressed messages stay allowed
    }));
    BOOST_TEST(events.size() == 3u);
    BOOST_TEST(events[0] == message(WSCORE_OP_TEXT, "Hello"));
    BOOST_TEST(events[1] == message(WSCORE_OP_BINARY, std::string(5000, 'b')));
    BOOST_TEST(events[2] == message(WSCORE_OP_TEXT, "plain"));
}

BOOST_AUTO_TEST_CASE(rfc_fragmented_example_with_ping_between)
{
    // RFC 7692 7.2.3.1: "Hello" in two fragments, RSV1 on the first only.
    const auto events = run(concat({
        client_frame(0x1, Bytes{0xf2, 0x48, 0xcd}, rsv1(false)),
        client_frame(0x9, bytes("p")),
        client_frame(0x0, Bytes{0xc9, 0xc9, 0x07, 0x00}, fragment(true)),
    }));
    BOOST_TEST_REQUIRE(events.size() == 2u);
    BOOST_TEST(events[0].type == WSCORE_EVENT_PING);
    BOOST_TEST(events[1] == message(WSCORE_OP_TEXT, "Hello"));
}

BOOST_AUTO_TEST_CASE(context_takeover_across_messages)
{
    const std::string a = "{\"user\":\"alice\",\"text\":\"hello there\"}";
    Bytes input;
    for (int i = 0; i < 4; ++i) {
        input = concat({input,
                        client_frame(0x1, compressed(a, true), rsv1())});
    }
    const auto events = run(input);
    BOOST_TEST(events.size() == 4u);
    for (const Recorded &r : events) {
        BOOST_TEST(r == message(WSCORE_OP_TEXT, a));
    }
}

BOOST_AUTO_TEST_CASE(long_fragmented_compressed_message)
{
    std::string big;
    for (int i = 0; i < 3000; ++i) big += "{\"n\":" + std::to_string(i) + "},";
    const Bytes z = compressed(big);
    // Split the compressed bytes into 7 fragments.
    Bytes input;
    const std::size_t part = z.size() / 7 + 1;
    for (std::size_t off = 0; off < z.size(); off += part) {
        const Bytes piece(z.begin() + off,
                          z.begin() + std::min(z.size(), off + part));
        const bool first = off == 0;
        const bool last = off + part >= z.size();
        FrameSpec spec = first ? rsv1(last) : fragment(last);
        input = concat({input, client_frame(first ? 0x1 : 0x0, piece, spec)});
    }
    const auto events = run(input);
    BOOST_TEST_REQUIRE(events.size() == 1u);
    BOOST_TEST(events[0] == message(WSCORE_OP_TEXT, big));
}

BOOST_AUTO_TEST_CASE(rsv1_on_continuation_is_1002)
{
    const auto events = run(concat({
        client_frame(0x1, Bytes{0xf2, 0x48, 0xcd}, rsv1(false)),
        client_frame(0x0, Bytes{0xc9, 0xc9, 0x07, 0x00}, rsv1(true)),
    }));
    BOOST_TEST(events.back()
               == error(1002, "RSV1 set on a continuation frame"));
    // Also after an uncompressed first frame.
    const auto plain_first = run(concat({
        client_frame(0x1, bytes("He"), fragment(false)),
        client_frame(0x0, bytes("llo"), rsv1(true)),
    }));
    BOOST_TEST(plain_first.back()
               == error(1002, "RSV1 set on a continuation frame"));
}

BOOST_AUTO_TEST_CASE(rsv1_on_control_frames_is_1002)
{
    for (std::uint8_t op : {0x8, 0x9, 0xA}) {
        const auto events = run(client_frame(op, {}, rsv1()));
        BOOST_TEST(events.back() == error(1002, "reserved bits set"));
    }
}

BOOST_AUTO_TEST_CASE(rsv1_without_negotiation_is_1002)
{
    Session s(test_config(), 0);
    std::vector<Recorded> events;
    feed_chunk(s, client_frame(0x1, hello_rfc, rsv1()), 0, events);
    BOOST_TEST_REQUIRE(events.size() == 1u);
    BOOST_TEST(events[0] == error(1002, "reserved bits set"));
}

BOOST_AUTO_TEST_CASE(rsv2_and_rsv3_stay_errors)
{
    FrameSpec rsv2;
    rsv2.rsv = 2;
    BOOST_TEST(run(text("x", rsv2)).back() == error(1002, "reserved bits set"));
    FrameSpec rsv13;
    rsv13.rsv = 5;
    BOOST_TEST(run(client_frame(0x1, hello_rfc, rsv13)).back()
               == error(1002, "reserved bits set"));
}

BOOST_AUTO_TEST_CASE(corrupt_data_is_1007)
{
    BOOST_TEST(run(client_frame(0x1, Bytes{0x07, 0x00}, rsv1())).back()
               == error(1007, "invalid compressed data"));
    // A reference into a window the client never filled.
    BOOST_TEST(run(client_frame(0x2, Bytes{0xf2, 0x00, 0x11, 0x00, 0x00},
                                rsv1())).back()
               == error(1007, "invalid compressed data"));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_inside_compressed_text_is_1007)
{
    const auto events = run(client_frame(0x1, compressed("ab\xff" "cd"),
                                         rsv1()));
    BOOST_TEST(events.back() == error(1007, "invalid UTF-8 in text message"));
    const auto truncated = run(client_frame(0x1, compressed("ab\xc3"),
                                            rsv1()));
    BOOST_TEST(truncated.back()
               == error(1007, "truncated UTF-8 sequence at end of text "
                              "message"));
}

BOOST_AUTO_TEST_CASE(zip_bomb_is_1009_while_inflating)
{
    wscore_config_t cfg = test_config();
    cfg.max_message_size = 100000;
    MessageDeflater d({15, 9, 8, false});
    const std::string zeros(50 * 1000 * 1000, '\0');
    const auto z = d.compress({reinterpret_cast<const std::uint8_t *>(
        zeros.data()), zeros.size()});
    const Bytes bomb(z.begin(), z.end());
    BOOST_TEST(bomb.size() < 60000u);  // fits in the frame limit

    Session s(cfg, 0);
    BOOST_TEST_REQUIRE(s.enable_deflate(params()));
    std::vector<Recorded> events;
    feed_chunk(s, client_frame(0x2, bomb, rsv1()), 0, events);
    BOOST_TEST_REQUIRE(events.size() == 1u);
    BOOST_TEST(events[0] == error(1009, "message too large when inflated"));
    // Stopped at the limit: no buffer anywhere near 50 MB was made.
    BOOST_TEST(s.buffered_capacity() < 1000000u);
}

BOOST_AUTO_TEST_CASE(message_limit_applies_to_inflated_size)
{
    wscore_config_t cfg = test_config();
    cfg.max_message_size = 1000;
    const std::string fits(1000, 'x');
    const std::string over(1001, 'x');
    BOOST_TEST(run(client_frame(0x1, compressed(fits), rsv1()), cfg).back()
               == message(WSCORE_OP_TEXT, fits));
    BOOST_TEST(run(client_frame(0x1, compressed(over), rsv1()), cfg).back()
               == error(1009, "message too large when inflated"));
}

BOOST_AUTO_TEST_CASE(compressed_size_is_bounded_too)
{
    wscore_config_t cfg = test_config();
    cfg.max_message_size = 1000;
    cfg.max_frame_size = 0;
    // Empty stored blocks inflate to nothing but are 5 bytes each.
    Bytes empty_blocks;
    for (int i = 0; i < 300; ++i) {
        empty_blocks.insert(empty_blocks.end(), {0x00, 0x00, 0x00, 0xff, 0xff});
    }
    BOOST_TEST(run(client_frame(0x2, empty_blocks, rsv1()), cfg).back()
               == error(1009, "compressed message too large"));
}

BOOST_AUTO_TEST_CASE(client_no_context_takeover_keeps_idle_sessions_small)
{
    Session s(test_config(), 0);
    BOOST_TEST_REQUIRE(s.enable_deflate(params(15, true)));
    const std::size_t idle = s.inflater_memory();
    BOOST_TEST(idle < 256u);  // the inflater object, no zlib state
    std::vector<Recorded> events;
    feed_chunk(s, client_frame(0x1, hello_rfc, rsv1()), 0, events);
    BOOST_TEST_REQUIRE(events.size() == 1u);
    BOOST_TEST(events[0] == message(WSCORE_OP_TEXT, "Hello"));
    BOOST_TEST(s.inflater_memory() == idle);

    Session keeps(test_config(), 0);
    BOOST_TEST_REQUIRE(keeps.enable_deflate(params(10, false)));
    feed_chunk(keeps, client_frame(0x1, hello_rfc, rsv1()), 0, events);
    BOOST_TEST(keeps.inflater_memory() > 1024u);
    BOOST_TEST(keeps.inflater_memory() < 16u * 1024u);  // 10-bit window
}

BOOST_AUTO_TEST_CASE(no_deflate_session_budget)
{
    Session s(test_config(), 0);
    BOOST_TEST(s.inflater_memory() == 0u);
    BOOST_TEST(sizeof(Session) <= 136u);
}

BOOST_AUTO_TEST_SUITE_END()
