// The payload sink (wscore_payload_sink_t): a message in one frame that is
// all in the input is unmasked into the caller's buffer; everything else
// goes through the core's buffer. Either way the events must be the same
// as without a sink, for the whole input, byte by byte and random splits.

#include <boost/test/unit_test.hpp>

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
    bool refuse = false, bool deflate = false)
{
    Session s(test_config(), 0);
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

void same_as_without_sink(const Bytes &input, std::size_t placed_whole)
{
    const Run reference = feed(test_config(), input, 0);
    const SinkRun whole = feed_with_sink(input, 0, 1);
    BOOST_TEST(whole.events == reference.events,
               boost::test_tools::per_element());
    BOOST_TEST(whole.output == reference.output);
    BOOST_TEST(whole.placed == placed_whole);
    for (unsigned split : {1u, 3u, 17u, 200u}) {
        for (unsigned seed = 1; seed <= 5; ++seed) {
            const SinkRun r = feed_with_sink(input, split, seed);
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
    const SinkRun refused = feed_with_sink(input, 0, 1, true);
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
