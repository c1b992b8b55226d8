#include <boost/test/unit_test.hpp>

#include <string>

#include "client_frames.hpp"
#include "session.hpp"

using namespace wscore;
using namespace wscore::test;

namespace {

// Feeds input whole, byte at a time and in 30 seeded random splits, checks
// that events, output and final state are the same, returns the whole run.
Run run_all_splits(const Bytes &input, const wscore_config_t &cfg = test_config())
{
    const Run whole = feed(cfg, input, 0);
    const Run bytewise = feed(cfg, input, 1);
    BOOST_TEST(bytewise.events == whole.events, boost::test_tools::per_element());
    BOOST_TEST(bytewise.output == whole.output);
    BOOST_TEST(bytewise.state == whole.state);
    for (unsigned seed = 1; seed <= 30; ++seed) {
        const Run random = feed(cfg, input, 2 + seed % 40, seed);
        BOOST_TEST(random.events == whole.events, boost::test_tools::per_element());
        BOOST_TEST(random.output == whole.output);
    }
    return whole;
}

Recorded message(int opcode, std::string data)
{
    Recorded r;
    r.type = WSCORE_EVENT_MESSAGE;
    r.opcode = opcode;
    r.data = std::move(data);
    return r;
}

Recorded event(wscore_event_type_e type, std::string data = {}, int code = 0)
{
    Recorded r;
    r.type = type;
    r.data = std::move(data);
    r.close_code = code;
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

// A server frame as the session should write it (unmasked, short).
std::string server_frame(std::uint8_t opcode, std::string_view payload)
{
    std::string f;
    f += static_cast<char>(0x80 | opcode);
    f += static_cast<char>(payload.size());
    f += payload;
    return f;
}

std::string close_payload(std::uint16_t code, std::string_view reason = {})
{
    std::string p{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    return p + std::string(reason);
}

// Checks that input ends the session with exactly this error, and that
// the only output is our close frame carrying code.
void expect_error(const Bytes &input, int code, const std::string &why,
    const wscore_config_t &cfg = test_config())
{
    const Run run = run_all_splits(input, cfg);
    BOOST_TEST_REQUIRE(!run.events.empty());
    BOOST_TEST(run.events.back() == error(code, why));
    BOOST_TEST(run.state == WSCORE_STATE_CLOSED);
    BOOST_TEST_REQUIRE(run.output.size() >= 4u);
    // Our close frame is the last frame in the output.
    const std::size_t pos = run.output.rfind('\x88');
    BOOST_TEST_REQUIRE(pos != std::string::npos);
    BOOST_TEST(static_cast<std::uint8_t>(run.output[pos + 2]) == (code >> 8));
    BOOST_TEST(static_cast<std::uint8_t>(run.output[pos + 3]) == (code & 0xff));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(session)

BOOST_AUTO_TEST_CASE(state_fits_its_budget)
{
    BOOST_TEST(sizeof(Session) <= 136u);
}

BOOST_AUTO_TEST_CASE(text_and_binary_messages)
{
    const Run run = run_all_splits(concat({text("Hello"),
        client_frame(0x2, Bytes{0, 1, 2, 255}), text("")}));
    BOOST_TEST(run.events == (std::vector<Recorded>{
        message(1, "Hello"), message(2, std::string("\0\1\2\xff", 4)),
        message(1, "")}), boost::test_tools::per_element());
    BOOST_TEST(run.output.empty());
    BOOST_TEST(run.state == WSCORE_STATE_OPEN);
}

BOOST_AUTO_TEST_CASE(large_messages_with_16_and_64_bit_lengths)
{
    const std::string a(300, 'a');
    const std::string b(70000, 'b');
    const Run run = run_all_splits(concat({text(a), text(b)}));
    BOOST_TEST(run.events == (std::vector<Recorded>{message(1, a), message(1, b)}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fragmented_message_with_interleaved_controls)
{
    FrameSpec first;
    first.fin = false;
    FrameSpec middle = first;
    const Run run = run_all_splits(concat({
        text("Hel", first),
        client_frame(0x9, bytes("p1")),
        client_frame(0x0, bytes("lo, "), middle),
        client_frame(0xA, bytes("pong")),
        client_frame(0x0, {}, middle),                 // empty fragment
        client_frame(0x0, bytes("world")),
        text("next")}));
    BOOST_TEST(run.events == (std::vector<Recorded>{
        event(WSCORE_EVENT_PING, "p1"), event(WSCORE_EVENT_PONG, "pong"),
        message(1, "Hello, world"), message(1, "next")}),
        boost::test_tools::per_element());
    BOOST_TEST(run.output == server_frame(0xA, "p1"));
}

BOOST_AUTO_TEST_CASE(in_message_reports_fragment_in_progress)
{
    Session s(test_config(), 0);
    FrameSpec first;
    first.fin = false;
    std::vector<Recorded> events;
    feed_chunk(s, text("ab", first), 0, events);
    BOOST_TEST(s.in_message());
    feed_chunk(s, client_frame(0x0, bytes("c")), 0, events);
    BOOST_TEST(!s.in_message());
    BOOST_TEST(events == std::vector<Recorded>{message(1, "abc")}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(ping_gets_pong_with_same_payload)
{
    const Run run = run_all_splits(concat({client_frame(0x9, {}),
        client_frame(0x9, Bytes(125, 'x'))}));
    BOOST_TEST(run.events == (std::vector<Recorded>{event(WSCORE_EVENT_PING),
        event(WSCORE_EVENT_PING, std::string(125, 'x'))}), boost::test_tools::per_element());
    BOOST_TEST(run.output == server_frame(0xA, "") + server_frame(0xA, std::string(125, 'x')));
}

BOOST_AUTO_TEST_CASE(frame_errors_close_1002)
{
    FrameSpec unmasked;
    unmasked.masked = false;
    expect_error(text("hi", unmasked), 1002, "unmasked client frame");
    FrameSpec rsv;
    rsv.rsv = 4;
    expect_error(text("hi", rsv), 1002, "reserved bits set");
    rsv.rsv = 1;
    expect_error(text("hi", rsv), 1002, "reserved bits set");
    expect_error(client_frame(0x3, {}), 1002, "unknown opcode 0x3");
    expect_error(client_frame(0xB, {}), 1002, "unknown opcode 0xB");
    FrameSpec not_fin;
    not_fin.fin = false;
    expect_error(client_frame(0x9, {}, not_fin), 1002, "fragmented control frame");
    expect_error(client_frame(0x9, Bytes(126, 0)), 1002, "control frame payload > 125");
    expect_error(client_frame(0x0, bytes("x")), 1002, "continuation without message");
    expect_error(concat({text("a", not_fin), text("b")}), 1002,
                 "data frame inside fragmented message");
    expect_error(concat({text("a", not_fin), client_frame(0x2, bytes("b"))}), 1002,
                 "data frame inside fragmented message");
    expect_error(Bytes{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, 1002,
                 "frame length with MSB set");
    FrameSpec f16;
    f16.form = LengthForm::force16;
    expect_error(text("short", f16), 1002, "non-minimal length encoding");
    FrameSpec f64;
    f64.form = LengthForm::force64;
    expect_error(text("short", f64), 1002, "non-minimal length encoding");
}

BOOST_AUTO_TEST_CASE(error_close_frame_has_short_reason)
{
    const Run run = feed(test_config(), client_frame(0x3, {}), 0);
    BOOST_TEST(run.output == server_frame(0x8, close_payload(1002, "protocol error")));
}

BOOST_AUTO_TEST_CASE(frame_limit_is_decided_at_the_header)
{
    auto cfg = test_config();
    cfg.max_frame_size = 100;
    cfg.max_message_size = 0;
    // Only the header: no payload needs to arrive for the verdict.
    expect_error(header_only(0x2, 101), 1009, "frame too large", cfg);
    expect_error(header_only(0x2, 0x7fffffffffffffffULL), 1009, "frame too large", cfg);
    const Run ok = run_all_splits(client_frame(0x2, Bytes(100, 1)), cfg);
    BOOST_TEST(ok.events.size() == 1u);
    BOOST_TEST(ok.events[0].type == WSCORE_EVENT_MESSAGE);
}

BOOST_AUTO_TEST_CASE(message_limit_counts_fragments)
{
    auto cfg = test_config();
    cfg.max_frame_size = 0;
    cfg.max_message_size = 10;
    FrameSpec first;
    first.fin = false;
    expect_error(concat({text("123456", first), header_only(0x0, 5)}), 1009,
                 "message too large", cfg);
    expect_error(header_only(0x1, 11), 1009, "message too large", cfg);
    const Run ok = run_all_splits(concat({text("123456", first),
        client_frame(0x0, bytes("7890")), text("0123456789")}), cfg);
    BOOST_TEST(ok.events == (std::vector<Recorded>{message(1, "1234567890"),
        message(1, "0123456789")}), boost::test_tools::per_element());
    // Control frames do not count towards the message.
    const Run ping = run_all_splits(concat({text("123456", first),
        client_frame(0x9, Bytes(100, 'p')), client_frame(0x0, bytes("7890"))}), cfg);
    BOOST_TEST(ping.events.size() == 2u);
    BOOST_TEST(ping.events.back() == message(1, "1234567890"));
}

BOOST_AUTO_TEST_CASE(zero_length_frames_are_fine_at_any_limit)
{
    auto cfg = test_config();
    cfg.max_frame_size = 1;
    cfg.max_message_size = 1;
    const Run run = run_all_splits(concat({text(""), client_frame(0x2, {})}), cfg);
    BOOST_TEST(run.events.size() == 2u);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_fails_fast_mid_frame)
{
    // A 1000-byte text frame whose 4th payload byte is invalid: the error
    // must come after the first 4 payload bytes, without the rest.
    Bytes payload(1000, 'a');
    payload[3] = 0xff;
    const Bytes frame = client_frame(0x1, payload);
    const Bytes prefix(frame.begin(), frame.begin() + 8 + 4);  // header(8) + 4
    expect_error(prefix, 1007, "invalid UTF-8 in text message");

    // Same when the prefix arrives in one receive() call.
    Session s(test_config(), 0);
    wscore_event_t ev;
    BOOST_TEST(s.receive(prefix, 0, ev) == prefix.size());
    BOOST_TEST(ev.type == WSCORE_EVENT_ERROR);
    BOOST_TEST(ev.close_code == 1007);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_fails_fast_in_a_later_fragment)
{
    FrameSpec first;
    first.fin = false;
    // Surrogate: ED in the first fragment, A0 in the second.
    expect_error(concat({client_frame(0x1, Bytes{'o', 'k', 0xed}, first),
                         header_only(0x0, 50, false), Bytes{0xa0 ^ 1}}),
                 1007, "invalid UTF-8 in text message");
    // Overlong forms, > U+10FFFF, F5..FF.
    for (const Bytes &bad : {Bytes{0xc0, 0xaf}, Bytes{0xe0, 0x80, 0xaf},
                             Bytes{0xf0, 0x80, 0x80, 0xaf}, Bytes{0xf4, 0x90, 0x80, 0x80},
                             Bytes{0xf5}, Bytes{0xff}}) {
        expect_error(client_frame(0x1, bad), 1007, "invalid UTF-8 in text message");
    }
}

BOOST_AUTO_TEST_CASE(utf8_across_fragment_boundaries)
{
    FrameSpec first;
    first.fin = false;
    const Bytes euro{0xe2, 0x82, 0xac};
    const Bytes emoji{0xf0, 0x9f, 0x98, 0x80};
    const Run run = run_all_splits(concat({
        client_frame(0x1, Bytes{euro[0]}, first),
        client_frame(0x0, Bytes{euro[1]}, first),
        client_frame(0x9, bytes("mid")),
        client_frame(0x0, Bytes{euro[2], emoji[0], emoji[1]}, first),
        client_frame(0x0, Bytes{emoji[2], emoji[3]})}));
    BOOST_TEST(run.events == (std::vector<Recorded>{event(WSCORE_EVENT_PING, "mid"),
        message(1, "\xe2\x82\xac\xf0\x9f\x98\x80")}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(truncated_utf8_at_message_end)
{
    expect_error(client_frame(0x1, Bytes{'a', 0xe2, 0x82}), 1007,
                 "truncated UTF-8 sequence at end of text message");
    FrameSpec first;
    first.fin = false;
    expect_error(concat({client_frame(0x1, Bytes{0xf0, 0x9f}, first),
                         client_frame(0x0, Bytes{0x98})}),
                 1007, "truncated UTF-8 sequence at end of text message");
}

BOOST_AUTO_TEST_CASE(binary_is_not_validated)
{
    const Run run = run_all_splits(client_frame(0x2, Bytes{0xff, 0xc0, 0xed, 0xa0}));
    BOOST_TEST(run.events.size() == 1u);
    BOOST_TEST(run.events[0].type == WSCORE_EVENT_MESSAGE);
}

BOOST_AUTO_TEST_CASE(peer_close_is_echoed)
{
    const Run run = run_all_splits(concat({close_frame(1000, "bye"), text("ignored")}));
    BOOST_TEST(run.events == (std::vector<Recorded>{event(WSCORE_EVENT_CLOSE, "bye", 1000)}),
               boost::test_tools::per_element());
    BOOST_TEST(run.output == server_frame(0x8, close_payload(1000)));
    BOOST_TEST(run.state == WSCORE_STATE_CLOSED);

    const Run app = run_all_splits(close_frame(4321));
    BOOST_TEST(app.output == server_frame(0x8, close_payload(4321)));
}

BOOST_AUTO_TEST_CASE(empty_close_gets_empty_close)
{
    const Run run = run_all_splits(client_frame(0x8, {}));
    BOOST_TEST(run.events == (std::vector<Recorded>{event(WSCORE_EVENT_CLOSE, "", 1005)}),
               boost::test_tools::per_element());
    BOOST_TEST(run.output == server_frame(0x8, ""));
}

BOOST_AUTO_TEST_CASE(close_code_of_the_session)
{
    Session idle(test_config(), 0);
    BOOST_TEST(idle.close_code() == 1006);

    Session peer(test_config(), 0);
    std::vector<Recorded> events;
    feed_chunk(peer, close_frame(3001), 0, events);
    BOOST_TEST(peer.close_code() == 3001);

    Session empty(test_config(), 0);
    feed_chunk(empty, client_frame(0x8, {}), 0, events);
    BOOST_TEST(empty.close_code() == 1005);

    Session ours(test_config(), 0);
    ours.close(1001, "bye", 0);
    feed_chunk(ours, close_frame(1000), 0, events);
    BOOST_TEST(ours.close_code() == 1001);

    Session failed(test_config(), 0);
    feed_chunk(failed, client_frame(0x3, {}), 0, events);
    BOOST_TEST(failed.close_code() == 1002);
}

BOOST_AUTO_TEST_CASE(bad_close_frames)
{
    expect_error(client_frame(0x8, Bytes{0x03}), 1002, "close payload of 1 byte");
    expect_error(close_frame(1005), 1002, "invalid close code 1005");
    expect_error(close_frame(1006), 1002, "invalid close code 1006");
    expect_error(close_frame(1004), 1002, "invalid close code 1004");
    expect_error(close_frame(1015), 1002, "invalid close code 1015");
    expect_error(close_frame(999), 1002, "invalid close code below 1000");
    expect_error(close_frame(2000), 1002, "invalid close code 1016-2999 (unassigned)");
    expect_error(close_frame(5000), 1002, "invalid close code 5000 or above");
    expect_error(close_frame(1000, "\xc3"), 1007, "invalid UTF-8 in close reason");
}

BOOST_AUTO_TEST_CASE(input_after_closed_is_ignored)
{
    Session s(test_config(), 0);
    std::vector<Recorded> events;
    feed_chunk(s, client_frame(0x3, {}), 0, events);
    BOOST_TEST(s.state() == WSCORE_STATE_CLOSED);
    const Bytes more = concat({text("x"), client_frame(0x9, {})});
    wscore_event_t ev;
    BOOST_TEST(s.receive(more, 0, ev) == more.size());
    BOOST_TEST(ev.type == WSCORE_EVENT_NONE);
    BOOST_TEST(s.next_deadline() == 0u);
}

BOOST_AUTO_TEST_CASE(server_close_then_peer_close)
{
    Session s(test_config(), 100);
    s.close(1001, "going away", 100);
    BOOST_TEST(s.state() == WSCORE_STATE_CLOSING);
    const auto out = s.output();
    BOOST_TEST(std::string(out.begin(), out.end()) ==
               server_frame(0x8, close_payload(1001, "going away")));
    s.output_consumed(out.size());
    s.close(1000, "again", 100);  // ignored unless OPEN
    BOOST_TEST(s.output().empty());

    std::vector<Recorded> events;
    FrameSpec first;
    first.fin = false;
    // Data is still parsed but not reported, pings get no pong.
    feed_chunk(s, concat({text("late"), text("a", first), client_frame(0x9, bytes("p")),
                          client_frame(0x0, bytes("b")), close_frame(1000, "ok")}),
               200, events);
    BOOST_TEST(events == (std::vector<Recorded>{event(WSCORE_EVENT_PING, "p"),
        event(WSCORE_EVENT_CLOSE, "ok", 1000)}), boost::test_tools::per_element());
    BOOST_TEST(s.output().empty());  // no reply to the reply
    BOOST_TEST(s.state() == WSCORE_STATE_CLOSED);
    BOOST_TEST(s.close_code() == 1001);
}

BOOST_AUTO_TEST_CASE(closing_still_validates_data)
{
    Session s(test_config(), 0);
    s.close(1000, "", 0);
    std::vector<Recorded> events;
    feed_chunk(s, client_frame(0x1, Bytes{0xff}), 0, events);
    BOOST_TEST(events == std::vector<Recorded>{error(1007, "invalid UTF-8 in text message")},
               boost::test_tools::per_element());
    BOOST_TEST(s.state() == WSCORE_STATE_CLOSED);
    // Our close was already sent: no second close frame.
    const auto out = s.output();
    BOOST_TEST(std::string(out.begin(), out.end()) == server_frame(0x8, close_payload(1000)));
}

BOOST_AUTO_TEST_CASE(server_close_with_unsendable_code_sends_no_status)
{
    Session s(test_config(), 0);
    s.close(1005, "x", 0);
    const auto out = s.output();
    BOOST_TEST(std::string(out.begin(), out.end()) == server_frame(0x8, ""));
    BOOST_TEST(s.close_code() == 1005);
}

BOOST_AUTO_TEST_CASE(close_reason_truncated_to_fit)
{
    Session s(test_config(), 0);
    s.close(1000, std::string(300, 'r'), 0);
    const auto out = s.output();
    BOOST_TEST(out.size() == 2u + 125u);
    BOOST_TEST(out[1] == 125);
}

BOOST_AUTO_TEST_CASE(pings_on_schedule_then_unresponsive)
{
    auto cfg = test_config();
    cfg.ping_interval_ms = 1000;
    cfg.ping_max_missed = 2;
    cfg.close_timeout_ms = 500;
    Session s(cfg, 10'000);
    BOOST_TEST(s.next_deadline() == 11'000u);
    BOOST_TEST(s.on_timer(10'999) == WSCORE_TIMER_NONE);
    BOOST_TEST(s.output().empty());
    BOOST_TEST(s.on_timer(11'000) == WSCORE_TIMER_PING_SENT);
    BOOST_TEST(std::string(s.output().begin(), s.output().end()) == server_frame(0x9, ""));
    s.output_consumed(s.output().size());
    BOOST_TEST(s.next_deadline() == 12'000u);
    BOOST_TEST(s.on_timer(12'005) == WSCORE_TIMER_PING_SENT);
    BOOST_TEST(s.next_deadline() == 13'005u);
    BOOST_TEST(s.on_timer(13'005) == WSCORE_TIMER_UNRESPONSIVE);
    BOOST_TEST(s.state() == WSCORE_STATE_CLOSING);
    BOOST_TEST(s.close_code() == 1001);
    const auto out = s.output();
    BOOST_TEST(std::string(out.begin(), out.end()) ==
               server_frame(0x9, "") + server_frame(0x8, close_payload(1001, "ping timeout")));
    // CLOSING: only the close timeout remains.
    BOOST_TEST(s.next_deadline() == 13'505u);
    BOOST_TEST(s.on_timer(13'504) == WSCORE_TIMER_NONE);
    BOOST_TEST(s.on_timer(13'505) == WSCORE_TIMER_CLOSE_EXPIRED);
    BOOST_TEST(s.state() == WSCORE_STATE_CLOSED);
    BOOST_TEST(s.next_deadline() == 0u);
    BOOST_TEST(s.on_timer(99'999) == WSCORE_TIMER_NONE);
}

BOOST_AUTO_TEST_CASE(received_bytes_reset_the_ping_schedule)
{
    auto cfg = test_config();
    cfg.ping_interval_ms = 1000;
    cfg.ping_max_missed = 1;
    Session s(cfg, 0);
    BOOST_TEST(s.on_timer(1000) == WSCORE_TIMER_PING_SENT);
    // Even one byte (half a header) proves the peer alive.
    const Bytes pong = client_frame(0xA, {});
    wscore_event_t ev;
    BOOST_TEST(s.receive(std::span(pong).first(1), 1500, ev) == 1u);
    BOOST_TEST(s.next_deadline() == 2500u);
    BOOST_TEST(s.on_timer(2000) == WSCORE_TIMER_NONE);
    BOOST_TEST(s.on_timer(2500) == WSCORE_TIMER_PING_SENT);  // missed was reset
    BOOST_TEST(s.on_timer(3500) == WSCORE_TIMER_UNRESPONSIVE);
}

BOOST_AUTO_TEST_CASE(no_pings_when_disabled)
{
    Session s(test_config(), 0);
    BOOST_TEST(s.next_deadline() == 0u);
    BOOST_TEST(s.on_timer(1'000'000) == WSCORE_TIMER_NONE);
}

BOOST_AUTO_TEST_CASE(idle_timeout_counts_data_messages_only)
{
    auto cfg = test_config();
    cfg.idle_timeout_ms = 5000;
    cfg.ping_interval_ms = 2000;
    cfg.close_timeout_ms = 100;
    Session s(cfg, 0);
    BOOST_TEST(s.next_deadline() == 2000u);
    std::vector<Recorded> events;
    feed_chunk(s, text("x"), 1000, events);
    BOOST_TEST(s.next_deadline() == 3000u);  // ping due 1000 + 2000
    feed_chunk(s, client_frame(0x9, {}), 4000, events);  // control: not data
    BOOST_TEST(s.next_deadline() == 6000u);  // idle due 1000 + 5000
    BOOST_TEST(s.on_timer(5999) == WSCORE_TIMER_NONE);
    BOOST_TEST(s.on_timer(6000) == WSCORE_TIMER_IDLE);
    BOOST_TEST(s.state() == WSCORE_STATE_CLOSING);
    const auto out = s.output();
    const std::string expected = server_frame(0x8, close_payload(1001, "idle timeout"));
    BOOST_TEST(std::string(out.end() - static_cast<long>(expected.size()), out.end()) == expected);
    BOOST_TEST(s.next_deadline() == 6100u);
    BOOST_TEST(s.on_timer(6100) == WSCORE_TIMER_CLOSE_EXPIRED);
}

BOOST_AUTO_TEST_CASE(server_close_deadline)
{
    auto cfg = test_config();
    cfg.close_timeout_ms = 0;
    Session s(cfg, 0);
    s.close(1000, "", 0);
    BOOST_TEST(s.next_deadline() == 1u);  // never 0 while a deadline exists
    BOOST_TEST(s.on_timer(1) == WSCORE_TIMER_CLOSE_EXPIRED);
}

BOOST_AUTO_TEST_CASE(buffers_are_released_after_large_messages)
{
    Session s(test_config(), 0);
    std::vector<Recorded> events;
    feed_chunk(s, text(std::string(100'000, 'z')), 0, events);
    BOOST_TEST(events.size() == 1u);
    BOOST_TEST(s.buffered_capacity() >= 100'000u);  // event data still valid
    wscore_event_t ev;
    s.receive({}, 0, ev);
    BOOST_TEST(s.buffered_capacity() == 0u);

    feed_chunk(s, text("small"), 0, events);
    s.receive({}, 0, ev);
    BOOST_TEST(s.buffered_capacity() <= Session::kept_buffer_capacity);
}

// A frame that comes in two reads: its first read takes room for the whole
// payload, so the second does not reallocate, and a buffer that fits it
// exactly is kept (not trimmed) for the next such frame.
BOOST_AUTO_TEST_CASE(frame_split_over_reads_reserves_its_payload_once)
{
    Session s(test_config(), 0);
    std::vector<Recorded> events;
    wscore_event_t ev;
    const Bytes frame = client_frame(0x2, Bytes(12'000, 9));
    const std::span<const std::uint8_t> all(frame);

    for (int round = 0; round < 2; round++) {
        feed_chunk(s, all.first(9'000), 0, events);
        BOOST_TEST(s.buffered_capacity() == 12'000u);
        feed_chunk(s, all.subspan(9'000), 0, events);
        BOOST_TEST(s.buffered_capacity() == 12'000u);
        s.receive({}, 0, ev);  // the message's data released
        BOOST_TEST(s.buffered_capacity() == 12'000u);
    }
    BOOST_TEST(events.size() == 2u);
    BOOST_TEST(events[0].data == std::string(12'000, 9));
    BOOST_TEST(events[1].data == std::string(12'000, 9));
}

// A frame larger than frame_reserve_max is not reserved at its first read
// (the read window takes its rest): the buffer holds what came.
BOOST_AUTO_TEST_CASE(frame_over_the_reserve_cap_is_not_reserved_early)
{
    auto cfg = test_config();
    cfg.max_frame_size = cfg.max_message_size = 4 << 20;
    Session s(cfg, 0);
    std::vector<Recorded> events;
    const Bytes frame = client_frame(0x2,
        Bytes(Session::frame_reserve_max + 1, 5));
    feed_chunk(s, std::span<const std::uint8_t>(frame).first(9'000), 0,
               events);
    BOOST_TEST(s.buffered_capacity() < 9'000u);
    BOOST_TEST(events.empty());
}

BOOST_AUTO_TEST_CASE(output_consumed_in_parts)
{
    Session s(test_config(), 0);
    std::vector<Recorded> events;
    feed_chunk(s, concat({client_frame(0x9, bytes("a")), client_frame(0x9, bytes("b"))}), 0, events);
    BOOST_TEST(s.output().size() == 6u);
    s.output_consumed(2);
    BOOST_TEST(std::string(s.output().begin(), s.output().end()) ==
               std::string("a") + server_frame(0xA, "b"));
    s.output_consumed(4);
    BOOST_TEST(s.output().empty());
}

BOOST_AUTO_TEST_CASE(one_long_conversation_in_any_split)
{
    FrameSpec first;
    first.fin = false;
    const Run run = run_all_splits(concat({
        text("hello"), client_frame(0x9, bytes("ping")),
        client_frame(0x2, Bytes(200, 7), first), client_frame(0xA, {}),
        client_frame(0x0, Bytes(70000, 8)), text("\xc3\xa9t\xc3\xa9"),
        close_frame(1000, "done"), text("after close")}));
    BOOST_TEST(run.events.size() == 6u);
    BOOST_TEST(run.events.back() == event(WSCORE_EVENT_CLOSE, "done", 1000));
    BOOST_TEST(run.events[3].data.size() == 70200u);
    BOOST_TEST(run.events[4] == message(1, "\xc3\xa9t\xc3\xa9"));
}

BOOST_AUTO_TEST_SUITE_END()
