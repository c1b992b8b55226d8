// The payload sink (wscore_payload_sink_t): a message in one frame that is
// all in the input is unmasked into the caller's buffer; everything else
// goes through the core's buffer. Either way the events must be the same
// as without a sink, for the whole input, byte by byte and random splits.

#include <boost/test/unit_test.hpp>

#include <cstring>
#include <memory>
#include <random>
#include <string>

#include "client_frames.hpp"
#include "session.hpp"
#include "wscore.h"

using namespace wscore;
using namespace wscore::test;

namespace {

// A sink that hands out heap buffers and remembers the one it gave, as
// the module does; fails every time when refuse is set.
struct TestSink {
    std::unique_ptr<std::uint8_t[]> buffer;
    std::size_t allocations = 0;
    bool refuse = false;

    static std::uint8_t *alloc(void *ctx, wscore_opcode_e, std::size_t len)
    {
        auto *self = static_cast<TestSink *>(ctx);
        if (self->refuse) {
            return nullptr;
        }
        BOOST_TEST(!self->buffer);  // at most one per receive call
        ++self->allocations;
        self->buffer = std::make_unique<std::uint8_t[]>(len + 1);
        return self->buffer.get();
    }
};

struct SinkRun {
    std::vector<Recorded> events;
    std::string output;
    std::size_t placed = 0;
    std::size_t allocations = 0;
};

SinkRun feed_with_sink(const Bytes &input, unsigned split, unsigned seed,
    bool refuse = false, bool deflate = false,
    const wscore_config_t &cfg = test_config())
{
    Session s(cfg, 0);
    if (deflate) {
        DeflateParams p;
        BOOST_REQUIRE(s.enable_deflate(p));
    }
    TestSink sink;
    sink.refuse = refuse;
    const wscore_payload_sink_t c_sink{&TestSink::alloc, &sink};
    SinkRun run;
    std::mt19937 rng(seed);
    std::size_t off = 0;
    while (off < input.size()) {
        const std::size_t n = next_chunk_size(input.size() - off, split, rng);
        const auto chunk = std::span(input).subspan(off, n);
        std::size_t used = 0;
        do {
            wscore_event_t ev;
            const std::size_t u = s.receive(chunk.subspan(used), 0, ev,
                                            &c_sink);
            used += u;
            if (ev.placed) {
                BOOST_TEST(ev.type == WSCORE_EVENT_MESSAGE);
                BOOST_TEST(ev.data == sink.buffer.get());
                ++run.placed;
            }
            if (ev.type != WSCORE_EVENT_NONE) {
                run.events.push_back(record(ev));
            } else if (u == 0) {
                break;
            }
            sink.buffer.reset();  // the caller's to free, placed or not
        } while (used < chunk.size());
        off += n;
    }
    const auto out = s.output();
    run.output.assign(out.begin(), out.end());
    run.allocations = sink.allocations;
    return run;
}

void same_as_without_sink(const Bytes &input, std::size_t placed_whole,
    const wscore_config_t &cfg = test_config())
{
    const Run reference = feed(cfg, input, 0);
    const SinkRun whole = feed_with_sink(input, 0, 1, false, false, cfg);
    BOOST_TEST(whole.events == reference.events,
               boost::test_tools::per_element());
    BOOST_TEST(whole.output == reference.output);
    BOOST_TEST(whole.placed == placed_whole);
    for (unsigned split : {1u, 3u, 17u, 200u}) {
        for (unsigned seed = 1; seed <= 5; ++seed) {
            const SinkRun r = feed_with_sink(input, split, seed, false,
                                             false, cfg);
            BOOST_TEST(r.events == reference.events,
                       boost::test_tools::per_element());
            BOOST_TEST(r.output == reference.output);
            BOOST_TEST(r.placed <= placed_whole);
            if (split == 1) {
                // a frame never arrives whole, except an empty one
                BOOST_TEST(r.placed <= 1u);
            }
        }
    }
    const SinkRun refused = feed_with_sink(input, 0, 1, true, false, cfg);
    BOOST_TEST(refused.events == reference.events,
               boost::test_tools::per_element());
    BOOST_TEST(refused.placed == 0u);
}

Bytes binary(const Bytes &payload)
{
    return client_frame(0x2, payload);
}

FrameSpec fragment(bool fin)
{
    FrameSpec spec;
    spec.fin = fin;
    return spec;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(payload_sink)

BOOST_AUTO_TEST_CASE(single_frame_messages_are_placed)
{
    const Bytes input = concat({
        text("hello"), binary(Bytes(64, 0x5a)), text(""),
        binary(Bytes(300, 0x11)), text(std::string(70000, 'x')),
        client_frame(0x9, bytes("ping")), text("after ping"),
    });
    same_as_without_sink(input, 6);  // all but the ping
}

BOOST_AUTO_TEST_CASE(fragmented_messages_use_the_core_buffer)
{
    const Bytes input = concat({
        client_frame(0x1, bytes("frag"), fragment(false)),
        client_frame(0x9, bytes("p")),
        client_frame(0x0, bytes("mented"), fragment(true)),
        binary(bytes("whole")),
    });
    same_as_without_sink(input, 1);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_fails_as_without_sink)
{
    same_as_without_sink(concat({text("ok"), client_frame(0x1,
        Bytes{'a', 0xff, 'b'})}), 1);
    // a sequence cut off by the end of the message
    same_as_without_sink(concat({text("ok"), client_frame(0x1,
        Bytes{'a', 0xe2, 0x82})}), 1);
    // nothing after the error is read
    same_as_without_sink(concat({client_frame(0x1, Bytes{0xc0, 0x80}),
        text("never")}), 0);
}

BOOST_AUTO_TEST_CASE(protocol_errors_and_limits_as_without_sink)
{
    FrameSpec unmasked;
    unmasked.masked = false;
    same_as_without_sink(concat({text("a"), client_frame(0x2, bytes("x"),
        unmasked)}), 1);
    // over max_message_size (1 MiB): refused at the header, never placed
    same_as_without_sink(binary(Bytes((1 << 20) + 1, 0)), 0);
}

// A message in one small frame is recognised in one step (without the
// parser's steps); every frame that step declines must still get the
// parser's verdict, and the limits must cut at the same byte.
BOOST_AUTO_TEST_CASE(frames_the_one_step_path_declines_fail_as_without_sink)
{
    FrameSpec padded;
    padded.form = LengthForm::force16;  // 5 bytes in a 16-bit length
    FrameSpec rsv2;
    rsv2.rsv = 2;
    FrameSpec rsv1;
    rsv1.rsv = 4;  // no deflate agreed
    same_as_without_sink(concat({text("a"), client_frame(0x2, bytes("short"),
        padded)}), 1);
    same_as_without_sink(concat({text("a"), client_frame(0x2, bytes("x"),
        rsv2)}), 1);
    same_as_without_sink(concat({text("a"), client_frame(0x1, bytes("x"),
        rsv1)}), 1);
    same_as_without_sink(concat({text("a"), client_frame(0x3, bytes("x"))}),
        1);
    same_as_without_sink(concat({text("a"), client_frame(0x0, bytes("x"))}),
        1);
    // the shortest 16-bit length, and a 64-bit one for a small payload
    FrameSpec long_form;
    long_form.form = LengthForm::force64;
    same_as_without_sink(concat({binary(Bytes(126, 7)), client_frame(0x2,
        bytes("x"), long_form)}), 1);
}

BOOST_AUTO_TEST_CASE(limits_cut_at_the_same_byte_with_a_sink)
{
    wscore_config_t cfg = test_config();
    cfg.max_frame_size = 300;
    cfg.max_message_size = 400;
    same_as_without_sink(concat({binary(Bytes(300, 1)), text("ok")}), 2, cfg);
    same_as_without_sink(concat({text("ok"), binary(Bytes(301, 1))}), 1, cfg);
    cfg.max_frame_size = 0;
    cfg.max_message_size = 200;
    same_as_without_sink(concat({binary(Bytes(200, 1)), text("ok")}), 2, cfg);
    same_as_without_sink(concat({text("ok"), binary(Bytes(201, 1))}), 1, cfg);
    cfg.max_message_size = 100;
    same_as_without_sink(concat({binary(Bytes(100, 1)), binary(Bytes(101,
        1))}), 1, cfg);
}

// A client session (a proxy's upstream link) takes the server's frames
// unmasked: placed as they are; a masked one is refused as without a sink.
BOOST_AUTO_TEST_CASE(a_client_session_places_unmasked_frames)
{
    const wscore_mask_source_t source{
        [](void *, std::uint8_t key[4]) { std::memset(key, 0x5c, 4); },
        nullptr};
    FrameSpec unmasked;
    unmasked.masked = false;
    const Bytes input = concat({client_frame(0x2, Bytes(200, 3), unmasked),
        client_frame(0x1, bytes("masked"))});
    std::vector<Recorded> events[2];
    for (int with_sink = 0; with_sink < 2; ++with_sink) {
        Session s(test_config(), 0);
        s.act_as_client(&source);
        TestSink sink;
        const wscore_payload_sink_t c_sink{&TestSink::alloc, &sink};
        std::size_t used = 0;
        wscore_event_t ev{};
        while (used < input.size() && ev.type != WSCORE_EVENT_ERROR) {
            used += s.receive(std::span(input).subspan(used), 0, ev,
                              with_sink ? &c_sink : nullptr);
            BOOST_TEST(ev.placed == (with_sink && events[1].empty() ? 1 : 0));
            BOOST_TEST_REQUIRE(ev.type != WSCORE_EVENT_NONE);
            events[with_sink].push_back(record(ev));
            sink.buffer.reset();
        }
    }
    BOOST_TEST_REQUIRE(events[0].size() == 2u);
    BOOST_TEST(events[0][0].data == std::string(200, 3));
    BOOST_TEST(events[0][1].type == WSCORE_EVENT_ERROR);
    BOOST_TEST(events[1] == events[0], boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(nothing_is_placed_once_closing)
{
    Session s(test_config(), 0);
    s.close(WSCORE_CLOSE_NORMAL, "bye", 0);
    TestSink sink;
    const wscore_payload_sink_t c_sink{&TestSink::alloc, &sink};
    const Bytes input = concat({text("late"), binary(bytes("later"))});
    wscore_event_t ev;
    BOOST_TEST(s.receive(input, 0, ev, &c_sink) == input.size());
    BOOST_TEST(ev.type == WSCORE_EVENT_NONE);
    BOOST_TEST(sink.allocations == 0u);
}

BOOST_AUTO_TEST_CASE(compressed_messages_are_inflated_by_the_core)
{
    // "Hello" compressed, RFC 7692 section 7.2.3.1
    const Bytes hello = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    FrameSpec rsv1;
    rsv1.rsv = 4;
    const Bytes input = concat({client_frame(0x1, hello, rsv1),
                                text("plain")});
    for (unsigned split : {0u, 1u, 5u}) {  // "plain" is 11 bytes
        const SinkRun r = feed_with_sink(input, split, 1, false, true);
        BOOST_TEST_REQUIRE(r.events.size() == 2u);
        BOOST_TEST(r.events[0].data == "Hello");
        BOOST_TEST(r.events[1].data == "plain");
        BOOST_TEST(r.placed == (split == 0 ? 1u : 0u));
        BOOST_TEST(r.allocations == r.placed);
    }
}

BOOST_AUTO_TEST_CASE(through_the_c_api)
{
    wscore_config_t cfg = test_config();
    wscore_session_t *s = wscore_session_create(&cfg, 0);
    BOOST_TEST_REQUIRE(s != nullptr);
    TestSink sink;
    const wscore_payload_sink_t c_sink{&TestSink::alloc, &sink};
    const Bytes input = concat({binary(bytes("direct")), text("two")});
    wscore_event_t ev;
    std::size_t used = wscore_session_receive_to(s, input.data(),
        input.size(), 0, &c_sink, &ev);
    BOOST_TEST(ev.type == WSCORE_EVENT_MESSAGE);
    BOOST_TEST(ev.placed == 1);
    BOOST_TEST(ev.data == sink.buffer.get());
    BOOST_TEST(std::string(reinterpret_cast<const char *>(ev.data), ev.len)
               == "direct");
    sink.buffer.reset();
    // without a sink the next message comes from the core's buffer
    used += wscore_session_receive(s, input.data() + used,
        input.size() - used, 0, &ev);
    BOOST_TEST(used == input.size());
    BOOST_TEST(ev.type == WSCORE_EVENT_MESSAGE);
    BOOST_TEST(ev.placed == 0);
    BOOST_TEST(std::string(reinterpret_cast<const char *>(ev.data), ev.len)
               == "two");
    wscore_session_destroy(s);
}

BOOST_AUTO_TEST_SUITE_END()
