#include <boost/test/unit_test.hpp>

#include <simdjson.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "allocation_failure.hpp"
#include "control_protocol.hpp"

using namespace wscore;
using namespace std::string_view_literals;

namespace {

struct Parsed {
    bool ok;
    ControlRequest req;
};

Parsed parse(std::string_view json)
{
    ControlParser parser;
    Parsed p;
    p.ok = parser.parse(json, p.req);
    BOOST_TEST(p.ok == (p.req.error == nullptr));
    return p;
}

std::string error_of(std::string_view json)
{
    const Parsed p = parse(json);
    return p.req.error != nullptr ? p.req.error : "(none)";
}

bool within(std::string_view inner, std::string_view outer)
{
    return inner.data() >= outer.data()
        && inner.data() + inner.size() <= outer.data() + outer.size();
}

// The reference for "is this valid JSON": simdjson's DOM parser, which
// validates the whole document.
bool dom_accepts(std::string_view json)
{
    simdjson::dom::parser dom;
    const simdjson::padded_string padded(json);
    simdjson::dom::element element;
    return dom.parse(padded).get(element) == simdjson::SUCCESS;
}

std::string ack(std::optional<std::string_view> id, std::uint64_t seq)
{
    std::string out(write_ack({}, id, seq), '\0');
    BOOST_TEST(write_ack(out, id, seq) == out.size());
    return out;
}

std::string error_reply(std::optional<std::string_view> id,
    std::string_view code, std::string_view message)
{
    std::string out(write_error({}, id, code, message), '\0');
    BOOST_TEST(write_error(out, id, code, message) == out.size());
    return out;
}

std::string message(std::string_view channel, std::uint64_t seq,
    std::string_view data)
{
    std::string out(write_message({}, channel, seq, data), '\0');
    BOOST_TEST(write_message(out, channel, seq, data) == out.size());
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(control_protocol)

BOOST_AUTO_TEST_CASE(subscribe_and_unsubscribe)
{
    const std::string json = R"({"op":"subscribe","channel":"room:1"})";
    const Parsed p = parse(json);
    BOOST_TEST(p.ok);
    BOOST_TEST(p.req.op == WSCORE_CTL_SUBSCRIBE);
    BOOST_TEST(p.req.channel == "room:1");
    BOOST_TEST(within(p.req.channel, json));
    BOOST_TEST(!p.req.data);
    BOOST_TEST(!p.req.id);

    const Parsed u = parse(R"( { "channel" : "a" , "op" : "unsubscribe" } )");
    BOOST_TEST(u.ok);
    BOOST_TEST(u.req.op == WSCORE_CTL_UNSUBSCRIBE);
    BOOST_TEST(u.req.channel == "a");
}

BOOST_AUTO_TEST_CASE(publish_data_of_every_type)
{
    for (const std::string_view data :
         {R"({"text":"hi","n":[1,2,{"deep":null}]})"sv, "[]"sv, "{}"sv,
          R"([1, "two", 3.5e10, true, false, null])"sv, R"("just text")"sv,
          R"("esc\"aped\\ \u00e9\n")"sv, "42"sv, "-0.5"sv, "1e300"sv,
          "123456789012345678901234567890"sv, "true"sv, "false"sv,
          "null"sv}) {
        BOOST_TEST_CONTEXT("data " << data)
        {
            // Data in the middle, with whitespace around it, and last.
            for (const std::string &json :
                 {R"({"op":"publish","data": )" + std::string(data)
                      + R"( ,"channel":"c"})",
                  R"({"op":"publish","channel":"c","data":)"
                      + std::string(data) + "\n}"}) {
                const Parsed p = parse(json);
                BOOST_TEST(p.ok);
                BOOST_TEST(p.req.op == WSCORE_CTL_PUBLISH);
                BOOST_TEST_REQUIRE(p.req.data.has_value());
                BOOST_TEST(*p.req.data == data);
                BOOST_TEST(within(*p.req.data, json));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(id_as_string_or_number)
{
    const Parsed s = parse(R"({"id":"req-1","op":"subscribe","channel":"c"})");
    BOOST_TEST(s.ok);
    BOOST_TEST_REQUIRE(s.req.id.has_value());
    BOOST_TEST(*s.req.id == R"("req-1")");

    const Parsed n = parse(R"({"op":"subscribe","channel":"c","id":  17 })");
    BOOST_TEST_REQUIRE(n.req.id.has_value());
    BOOST_TEST(*n.req.id == "17");

    // Escapes stay as they are: the raw text is echoed back as valid JSON.
    const Parsed e = parse(R"({"op":"subscribe","channel":"c","id":"a\"b"})");
    BOOST_TEST_REQUIRE(e.req.id.has_value());
    BOOST_TEST(*e.req.id == R"("a\"b")");
    BOOST_TEST(*parse(R"({"id":-1.5e3,"op":"subscribe","channel":"c"})").req.id
               == "-1.5e3");
}

BOOST_AUTO_TEST_CASE(last_seq_to_resume)
{
    const Parsed p =
        parse(R"({"op":"subscribe","channel":"c","last_seq":17,"id":1})");
    BOOST_TEST(p.ok);
    BOOST_TEST_REQUIRE(p.req.last_seq.has_value());
    BOOST_TEST(*p.req.last_seq == 17u);

    const Parsed big = parse(
        R"({"op":"subscribe","channel":"c","last_seq":18446744073709551615})");
    BOOST_TEST(big.ok);
    BOOST_TEST(*big.req.last_seq == 18446744073709551615u);

    BOOST_TEST(!parse(R"({"op":"subscribe","channel":"c"})").req.last_seq);

    for (const std::string_view v : {"-1"sv, "1.5"sv, "1e3"sv, R"("17")"sv,
                                     "null"sv, "[]"sv,
                                     "18446744073709551616"sv}) {
        BOOST_TEST_CONTEXT("last_seq " << v)
        {
            const Parsed b = parse(R"({"op":"subscribe","channel":"c",)"
                                   R"("last_seq":)" + std::string(v) + "}");
            BOOST_TEST(!b.ok);
            BOOST_TEST(std::string(b.req.error) == "bad last_seq");
        }
    }
}

BOOST_AUTO_TEST_CASE(bad_id)
{
    for (const std::string_view id : {"null"sv, "true"sv, "{}"sv, "[1]"sv,
                                      R"({"a":"b"})"sv}) {
        const std::string json =
            R"({"op":"subscribe","channel":"c","id":)" + std::string(id) + "}";
        const Parsed p = parse(json);
        BOOST_TEST(std::string(p.req.error) == "bad id");
        BOOST_TEST(!p.req.id);
    }
    // bad id is reported before the other request errors.
    BOOST_TEST(error_of(R"({"op":"nope","id":true})") == "bad id");
}

BOOST_AUTO_TEST_CASE(unknown_op)
{
    for (const std::string_view json :
         {R"({"channel":"c"})"sv, R"({"op":"Subscribe","channel":"c"})"sv,
          R"({"op":"subscribe ","channel":"c"})"sv, R"({"op":"","channel":"c"})"sv,
          R"({"op":1,"channel":"c"})"sv, R"({"op":null,"channel":"c"})"sv,
          R"({"op":["subscribe"],"channel":"c"})"sv, "{}"sv}) {
        BOOST_TEST(error_of(json) == "unknown op", json);
    }
    // The id is still read, so the error reply can carry it.
    const Parsed p = parse(R"({"id":5,"op":"dance"})");
    BOOST_TEST(std::string(p.req.error) == "unknown op");
    BOOST_TEST_REQUIRE(p.req.id.has_value());
    BOOST_TEST(*p.req.id == "5");
    // Member names may be escaped like any JSON string.
    BOOST_TEST(parse(R"({"o\u0070":"sub\u0073cribe","channel":"c"})").ok);
}

BOOST_AUTO_TEST_CASE(missing_or_bad_channel)
{
    for (const std::string_view json :
         {R"({"op":"subscribe"})"sv, R"({"op":"subscribe","channel":1})"sv,
          R"({"op":"subscribe","channel":null})"sv,
          R"({"op":"publish","channel":{"name":"c"},"data":1})"sv,
          R"({"op":"subscribe","Channel":"c"})"sv}) {
        BOOST_TEST(error_of(json) == "missing channel", json);
    }
    // Escapes cannot be pointed at in the input; no valid name needs one.
    for (const std::string_view json :
         {R"({"op":"subscribe","channel":"room\u003a1"})"sv,
          R"({"op":"subscribe","channel":"a\"b"})"sv,
          R"({"op":"subscribe","channel":"a\\b"})"sv}) {
        BOOST_TEST(error_of(json) == "bad channel", json);
    }
    // The parser leaves name rules (empty, spaces) to the router.
    const Parsed empty = parse(R"({"op":"subscribe","channel":""})");
    BOOST_TEST(empty.ok);
    BOOST_TEST(empty.req.channel.empty());
    // UTF-8 passes through untouched.
    BOOST_TEST(parse("{\"op\":\"subscribe\",\"channel\":\"caf\xc3\xa9\"}")
                   .req.channel == "caf\xc3\xa9");
}

BOOST_AUTO_TEST_CASE(auth_takes_a_token_and_no_channel)
{
    const std::string json = R"({"op":"auth","token":"aGk.e30.c2ln","id":3})";
    const Parsed p = parse(json);
    BOOST_TEST(p.ok);
    BOOST_TEST(p.req.op == WSCORE_CTL_AUTH);
    BOOST_TEST(p.req.token == "aGk.e30.c2ln");
    BOOST_TEST(within(p.req.token, json));
    BOOST_TEST(p.req.channel.empty());
    BOOST_TEST_REQUIRE(p.req.id.has_value());
    BOOST_TEST(*p.req.id == "3");

    for (const std::string_view bad :
         {R"({"op":"auth"})"sv, R"({"op":"auth","token":1})"sv,
          R"({"op":"auth","token":null})"sv,
          R"({"op":"auth","channel":"c"})"sv}) {
        BOOST_TEST(error_of(bad) == "missing token", bad);
    }
    BOOST_TEST(error_of(R"({"op":"auth","token":"a\u002eb"})") == "bad token");
    BOOST_TEST(error_of(R"({"op":"auth","token":"a","token":"b"})")
               == "bad json");
    // A token member means nothing to the other ops.
    const Parsed s = parse(R"({"op":"subscribe","channel":"c","token":"t"})");
    BOOST_TEST(s.ok);
    BOOST_TEST(s.req.channel == "c");
}

BOOST_AUTO_TEST_CASE(missing_data)
{
    BOOST_TEST(error_of(R"({"op":"publish","channel":"c"})") == "missing data");
    BOOST_TEST(error_of(R"({"op":"publish","channel":"c","Data":1})") ==
               "missing data");
    // A null is data; only absence is missing.
    BOOST_TEST(parse(R"({"op":"publish","channel":"c","data":null})").ok);
    // subscribe needs none, and ignores one.
    BOOST_TEST(parse(R"({"op":"subscribe","channel":"c","data":[1]})").ok);
}

BOOST_AUTO_TEST_CASE(unknown_members_are_ignored_but_validated)
{
    BOOST_TEST(parse(R"({"op":"subscribe","x":{"y":[1,{"z":null}]},"channel":"c","v":2})")
                   .ok);
    BOOST_TEST(error_of(R"({"op":"subscribe","x":[1,],"channel":"c"})") ==
               "bad json");
    BOOST_TEST(error_of(R"({"op":"subscribe","x":tru,"channel":"c"})") ==
               "bad json");
}

BOOST_AUTO_TEST_CASE(repeated_members_are_refused)
{
    BOOST_TEST(error_of(R"({"op":"subscribe","channel":"a","channel":"b"})") ==
               "bad json");
    BOOST_TEST(error_of(R"({"op":"subscribe","op":"publish","channel":"a"})") ==
               "bad json");
    BOOST_TEST(error_of(R"({"op":"subscribe","channel":"a","x":1,"x":2})") ==
               "(none)");
}

BOOST_AUTO_TEST_CASE(not_an_object)
{
    for (const std::string_view json :
         {"[]"sv, R"(["op","subscribe"])"sv, R"("subscribe")"sv, "1"sv,
          "null"sv, "true"sv}) {
        BOOST_TEST(error_of(json) == "bad json", json);
    }
}

BOOST_AUTO_TEST_CASE(bad_json_agrees_with_the_dom_parser)
{
    // Every input here is broken somewhere, often in a member the request
    // does not need; simdjson's fully validating DOM parser must agree.
    const std::string_view prefix = R"({"op":"publish","channel":"c","data":)";
    const std::string_view broken_values[] = {
        "", "[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":1,}", "{,}", "[,1]",
        "{\"a\":}", "tru", "nul", "truex", "falsey", "01", "1.", ".5", "+1",
        "-", "1e", "0x10", "\"\\x\"", "\"\\u12\"", "\"a\x01b\"", "'single'",
        "NaN", "[1]]", "{\"a\":1}}", "[", "{", "\"unterminated",
        "\"\xc3\x28\"", "\"\xed\xa0\x80\"", "{1:2}", "[1,2", "1 2",
    };
    for (const std::string_view broken : broken_values) {
        const std::string json = std::string(prefix) + std::string(broken) + "}";
        BOOST_TEST_CONTEXT("input " << json)
        {
            BOOST_TEST(!dom_accepts(json));
            BOOST_TEST(error_of(json) == "bad json");
        }
    }
    for (const std::string_view json :
         {""sv, " "sv, "{"sv, "}"sv, R"({"op":"subscribe","channel":"c"} x)"sv,
          R"({"op":"subscribe","channel":"c"}{})"sv,
          R"({"op":"subscribe" "channel":"c"})"sv,
          R"({"op":"subscribe","channel":"c",})"sv,
          "{\"op\":\"subscribe\",\"channel\":\"\xff\"}"sv}) {
        BOOST_TEST(!dom_accepts(json), json);
        BOOST_TEST(error_of(json) == "bad json", json);
    }
}

BOOST_AUTO_TEST_CASE(nesting_limit)
{
    const auto nested = [](std::size_t depth) {
        return R"({"op":"publish","channel":"c","data":)"
            + std::string(depth, '[') + std::string(depth, ']') + "}";
    };
    BOOST_TEST(parse(nested(ControlParser::max_depth)).ok);
    BOOST_TEST(error_of(nested(ControlParser::max_depth + 1)) == "bad json");
    BOOST_TEST(error_of(nested(100'000)) == "bad json");
}

BOOST_AUTO_TEST_CASE(parser_reuse_and_memory)
{
    ControlParser parser;
    ControlRequest req;
    BOOST_TEST(parser.parse(R"({"op":"subscribe","channel":"a"})", req));
    const std::size_t small = parser.buffered_capacity();
    BOOST_TEST(small > 0u);
    BOOST_TEST(!parser.parse("nonsense", req));
    BOOST_TEST(parser.parse(R"({"op":"unsubscribe","channel":"b"})", req));
    BOOST_TEST(req.channel == "b");
    BOOST_TEST(parser.buffered_capacity() == small);

    // A big publish is parsed, then its buffers are let go.
    const std::string big = R"({"op":"publish","channel":"c","data":")"
        + std::string(ControlParser::kept_input_size, 'x') + "\"}";
    BOOST_TEST(parser.parse(big, req));
    BOOST_TEST(req.data->size() == ControlParser::kept_input_size + 2);
    BOOST_TEST(parser.buffered_capacity() == 0u);
    BOOST_TEST(parser.parse(R"({"op":"subscribe","channel":"a"})", req));
}

BOOST_AUTO_TEST_CASE(allocation_failure_is_reported)
{
    // Only our own allocations are failed here (the parser state, then
    // the padded copy, both made before simdjson runs). simdjson 3.0.1's
    // On-Demand parser does not check its string buffer allocation
    // (ondemand::parser::allocate), so failing that one would crash
    // inside simdjson, not test our code.
    const std::string_view small = R"({"op":"publish","channel":"c","data":[1]})";
    const std::string big = R"({"op":"publish","channel":"c","data":")"
        + std::string(4000, 'x') + "\"}";
    ControlParser parser;
    ControlRequest req;

    wscore::test::fail_allocation(0);   // the state itself
    BOOST_TEST(!parser.parse(small, req));
    BOOST_TEST(wscore::test::allocation_failed());
    BOOST_TEST(std::string(req.error) == "out of memory");
    BOOST_TEST(parser.parse(small, req));

    wscore::test::fail_allocation(0);   // growing the padded copy
    BOOST_TEST(!parser.parse(big, req));
    BOOST_TEST(wscore::test::allocation_failed());
    BOOST_TEST(std::string(req.error) == "out of memory");
    BOOST_TEST(!req.data);
    // The same parser recovers, and small requests still fit.
    BOOST_TEST(parser.parse(big, req));
    BOOST_TEST(parser.parse(small, req));
}

BOOST_AUTO_TEST_CASE(input_without_padding)
{
    // The input ends exactly where its heap block does: the parser must
    // not read past it (ASan checks this in the sanitizer build).
    const std::string_view text = R"({"op":"publish","channel":"c","data":[1,2]})";
    auto exact = std::make_unique<char[]>(text.size());
    std::memcpy(exact.get(), text.data(), text.size());
    const Parsed p = parse({exact.get(), text.size()});
    BOOST_TEST(p.ok);
    BOOST_TEST(*p.req.data == "[1,2]");
    BOOST_TEST(within(*p.req.data, {exact.get(), text.size()}));
}

BOOST_AUTO_TEST_CASE(ack_replies)
{
    BOOST_TEST(ack(R"("r1")", 0) == R"({"op":"ack","id":"r1"})");
    BOOST_TEST(ack("7", 42) == R"({"op":"ack","id":7,"seq":42})");
    BOOST_TEST(ack(std::nullopt, 0) == R"({"op":"ack","id":null})");
    BOOST_TEST(ack(std::nullopt, UINT64_MAX) ==
               R"({"op":"ack","id":null,"seq":18446744073709551615})");
}

BOOST_AUTO_TEST_CASE(error_replies_escape_their_strings)
{
    BOOST_TEST(error_reply("3", "forbidden", "channel not allowed") ==
               R"({"op":"error","id":3,"code":"forbidden","message":"channel not allowed"})");
    BOOST_TEST(error_reply(std::nullopt, "bad json", "") ==
               R"({"op":"error","id":null,"code":"bad json","message":""})");
    const std::string escaped = error_reply(std::nullopt, "c",
        "q\" b\\ nl\n cr\r tab\t bs\b ff\f nul\0 x1f\x1f del\x7f \xc3\xa9"sv);
    BOOST_TEST(escaped ==
               R"({"op":"error","id":null,"code":"c","message":"q\" b\\ nl\n cr\r tab\t bs\b ff\f nul\u0000 x1f\u001f del)"
               "\x7f \xc3\xa9\"}");
    BOOST_TEST(dom_accepts(escaped));
}

BOOST_AUTO_TEST_CASE(message_replies)
{
    BOOST_TEST(message("room:1", 1, R"({"a":[1,2]})") ==
               R"({"op":"message","channel":"room:1","seq":1,"data":{"a":[1,2]}})");
    BOOST_TEST(message("c", 0, "null") ==
               R"({"op":"message","channel":"c","seq":0,"data":null})");
    BOOST_TEST(message("we\"ird", 9, R"("s")") ==
               R"({"op":"message","channel":"we\"ird","seq":9,"data":"s"})");

    // A parsed publish turns into a message that parses back.
    const std::string in =
        R"({"op":"publish","channel":"news","data":{"t":"caf\u00e9","n":[1.5,null]}})";
    const Parsed p = parse(in);
    BOOST_TEST_REQUIRE(p.ok);
    const std::string out = message(p.req.channel, 77, *p.req.data);
    BOOST_TEST(out ==
               R"({"op":"message","channel":"news","seq":77,"data":{"t":"caf\u00e9","n":[1.5,null]}})");
    BOOST_TEST(dom_accepts(out));
}

BOOST_AUTO_TEST_CASE(gap_replies)
{
    std::string out(write_gap({}, "room:1", 3, 17), '\0');
    BOOST_TEST(write_gap(out, "room:1", 3, 17) == out.size());
    BOOST_TEST(out == R"({"op":"gap","channel":"room:1","from":3,"to":17})");
    BOOST_TEST(dom_accepts(out));

    const std::string c = "room:1";
    char buf[128];
    const std::size_t n = wscore_ctl_write_gap(buf, sizeof buf,
        wscore_str_t{c.data(), c.size()}, 18446744073709551615ull, 1);
    BOOST_TEST(std::string_view(buf, n) ==
        R"({"op":"gap","channel":"room:1","from":18446744073709551615,"to":1})");
    BOOST_TEST(wscore_ctl_write_gap(nullptr, 0, wscore_str_t{c.data(),
        c.size()}, 1, 2) == std::string_view(
        R"({"op":"gap","channel":"room:1","from":1,"to":2})").size());
}

BOOST_AUTO_TEST_CASE(going_away_names_the_channel_and_its_last_number)
{
    std::string out(write_going_away({}, "room:1", 42), '\0');
    BOOST_TEST(write_going_away(out, "room:1", 42) == out.size());
    BOOST_TEST(out ==
        R"({"op":"going_away","channel":"room:1","last_seq":42})");
    BOOST_TEST(dom_accepts(out));

    const std::string c = "room:1";
    char small[8];
    BOOST_TEST(wscore_ctl_write_going_away(small, sizeof small,
        wscore_str_t{c.data(), c.size()}, 0) == std::string_view(
        R"({"op":"going_away","channel":"room:1","last_seq":0})").size());
}

BOOST_AUTO_TEST_CASE(writers_write_only_when_it_fits)
{
    const std::size_t need = write_ack({}, "12", 3);
    BOOST_TEST(need == std::string_view(R"({"op":"ack","id":12,"seq":3})").size());
    std::string small(need - 1, '#');
    BOOST_TEST(write_ack(small, "12", 3) == need);
    BOOST_TEST(small == std::string(need - 1, '#'));   // untouched
    std::string exact(need, '#');
    BOOST_TEST(write_ack(exact, "12", 3) == need);
    BOOST_TEST(exact == R"({"op":"ack","id":12,"seq":3})");

    std::string tiny(5, '#');
    BOOST_TEST(write_error(tiny, std::nullopt, "c", "m") > 5u);
    BOOST_TEST(write_message(tiny, "c", 1, "1") > 5u);
    BOOST_TEST(tiny == "#####");
}

BOOST_AUTO_TEST_CASE(rpc_names_a_method_and_may_carry_data)
{
    const std::string json =
        R"({"op":"rpc","method":"whoami","id":7,"data":{"a":[1,2]}})";
    const Parsed p = parse(json);
    BOOST_TEST(p.ok);
    BOOST_TEST(p.req.op == WSCORE_CTL_RPC);
    BOOST_TEST(p.req.method == "whoami");
    BOOST_TEST(*p.req.id == "7");
    BOOST_TEST(*p.req.data == R"({"a":[1,2]})");
    BOOST_TEST(p.req.channel.empty());

    const Parsed bare = parse(R"({"op":"rpc","method":"users/get.v2"})");
    BOOST_TEST(bare.ok);
    BOOST_TEST(bare.req.method == "users/get.v2");
    BOOST_TEST(!bare.req.data);
}

BOOST_AUTO_TEST_CASE(rpc_method_must_be_header_safe)
{
    BOOST_TEST(error_of(R"({"op":"rpc","id":1})") == "missing method");
    BOOST_TEST(error_of(R"({"op":"rpc","method":5})") == "missing method");
    BOOST_TEST(error_of(R"({"op":"rpc","method":""})") == "bad method");
    BOOST_TEST(error_of(R"({"op":"rpc","method":"a b"})") == "bad method");
    BOOST_TEST(error_of(R"({"op":"rpc","method":"a\nb"})") == "bad method");
    BOOST_TEST(error_of(R"({"op":"rpc","method":"a\u0041"})")
               == "bad method");
    BOOST_TEST(error_of("{\"op\":\"rpc\",\"method\":\"\xc3\xa9\"}")
               == "bad method");
    BOOST_TEST(error_of(R"({"op":"rpc","method":")" + std::string(128, 'm')
                        + R"("})") == "(none)");
    BOOST_TEST(error_of(R"({"op":"rpc","method":")" + std::string(129, 'm')
                        + R"("})") == "bad method");
    BOOST_TEST(error_of(R"({"op":"rpc","method":"a","method":"b"})")
               == "bad json");
    // the error keeps the id, so the reply can carry it
    const Parsed p = parse(R"({"op":"rpc","id":"x","method":"a b"})");
    BOOST_TEST(*p.req.id == R"("x")");
    BOOST_TEST(p.req.method.empty());
}

BOOST_AUTO_TEST_CASE(send_needs_data_and_no_channel)
{
    const Parsed p = parse(R"({"op":"send","id":2,"data":"hi"})");
    BOOST_TEST(p.ok);
    BOOST_TEST(p.req.op == WSCORE_CTL_SEND);
    BOOST_TEST(*p.req.data == R"("hi")");
    BOOST_TEST(error_of(R"({"op":"send","id":2})") == "missing data");
}

BOOST_AUTO_TEST_CASE(valid_value_takes_one_json_value_of_any_type)
{
    ControlParser parser;
    for (const std::string_view ok :
         {"{}"sv, "[1,2]"sv, R"("text")"sv, "12.5"sv, "-0"sv, "true"sv,
          "false"sv, "null"sv, " \n{\"a\":{\"b\":[null]}}\t "sv}) {
        BOOST_TEST(parser.valid_value(ok), ok);
        BOOST_TEST(dom_accepts(ok), ok);
    }
    for (const std::string_view bad :
         {""sv, " "sv, "1,2"sv, "1],[2"sv, "{} {}"sv, "{"sv, "tru"sv,
          "nul"sv, "\"open"sv, "{\"a\":}"sv, "hello"sv, "1 2"sv,
          "\"\xff\""sv, "[1,]"sv, "]"sv, "[]]"sv}) {
        BOOST_TEST(!parser.valid_value(bad), bad);
    }
    std::string deep(ControlParser::max_depth + 1, '[');
    deep += std::string(ControlParser::max_depth + 1, ']');
    BOOST_TEST(!parser.valid_value(deep));
    std::string shallow(ControlParser::max_depth - 1, '[');
    shallow += std::string(ControlParser::max_depth - 1, ']');
    BOOST_TEST(parser.valid_value(shallow));
}

BOOST_AUTO_TEST_CASE(valid_value_agrees_with_the_dom_parser)
{
    ControlParser parser;
    for (const std::string_view json :
         {R"({"a":1,"a":2})"sv, "[1e999]"sv, "0x10"sv, "01"sv, "\"\\q\""sv,
          "[\"\\ud800\"]"sv, "{\"k\":[true,false,null,1.5e3]}"sv, "NaN"sv}) {
        BOOST_TEST(parser.valid_value(json) == dom_accepts(json), json);
    }
}

BOOST_AUTO_TEST_CASE(big_values_leave_no_buffer_behind)
{
    ControlParser parser;
    const std::string big = "\"" + std::string(100 * 1024, 'x') + "\"";
    BOOST_TEST(parser.valid_value(big));
    BOOST_TEST(parser.buffered_capacity() == 0u);
}

BOOST_AUTO_TEST_CASE(ack_with_data_as_json_or_as_text)
{
    const auto ack_data = [](std::optional<std::string_view> id,
                             std::uint64_t seq, std::string_view data,
                             DataForm form) {
        std::string out(write_ack_data({}, id, seq, data, form), '\0');
        BOOST_TEST(write_ack_data(out, id, seq, data, form) == out.size());
        BOOST_TEST(dom_accepts(out), out);
        return out;
    };
    BOOST_TEST(ack_data("7", 0, R"({"connection":"41"})", DataForm::json)
               == R"({"op":"ack","id":7,"data":{"connection":"41"}})");
    BOOST_TEST(ack_data("7", 0, "say \"hi\"\n", DataForm::text)
               == R"({"op":"ack","id":7,"data":"say \"hi\"\n"})");
    BOOST_TEST(ack_data(R"("s")", 42, "[1]", DataForm::json)
               == R"({"op":"ack","id":"s","seq":42,"data":[1]})");
    // no data: the plain ack
    BOOST_TEST(ack_data(std::nullopt, 0, "", DataForm::text)
               == R"({"op":"ack","id":null})");
    BOOST_TEST(ack_data("1", 0, "", DataForm::json) == ack("1", 0));
}

BOOST_AUTO_TEST_CASE(status_errors_carry_the_status_and_escape_the_message)
{
    std::string out(write_status_error({}, "7", "rejected", 403,
                                       "no \"whoami\" for you"), '\0');
    BOOST_TEST(write_status_error(out, "7", "rejected", 403,
                                  "no \"whoami\" for you") == out.size());
    BOOST_TEST(out == R"({"op":"error","id":7,"code":"rejected","status":403,)"
                      R"("message":"no \"whoami\" for you"})");
    std::string tiny(10, '#');
    BOOST_TEST(write_status_error(tiny, std::nullopt, "unavailable", 502, "")
               > 10u);
    BOOST_TEST(tiny == "##########");
}

BOOST_AUTO_TEST_SUITE_END()
