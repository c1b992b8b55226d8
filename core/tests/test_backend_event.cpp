#include <boost/test/unit_test.hpp>

#include <simdjson.h>

#include <string>
#include <vector>

#include "backend_event.hpp"
#include "wscore.h"

using namespace wscore;
using namespace std::string_view_literals;

namespace {

std::vector<std::string> elements(std::string_view list)
{
    std::vector<std::string> out;
    while (auto e = next_list_element(list)) {
        out.emplace_back(*e);
    }
    return out;
}

std::string close_event(const CloseEvent &ev)
{
    std::string out(write_close_event({}, ev), '\0');
    BOOST_TEST(write_close_event(out, ev) == out.size());
    return out;
}

bool valid_json(const std::string &json)
{
    simdjson::dom::parser dom;
    const simdjson::padded_string padded(json);
    simdjson::dom::element element;
    return dom.parse(padded).get(element) == simdjson::SUCCESS;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(backend_event)

BOOST_AUTO_TEST_CASE(list_elements_are_trimmed_and_empty_ones_skipped)
{
    using list = std::vector<std::string>;
    BOOST_TEST((elements("a, b ,c") == list{"a", "b", "c"}));
    BOOST_TEST((elements(" ,, a,\t,b\t") == list{"a", "b"}));
    BOOST_TEST(elements("").empty());
    BOOST_TEST(elements(" , ,").empty());
    BOOST_TEST((elements("room:1") == list{"room:1"}));
}

BOOST_AUTO_TEST_CASE(list_next_reports_what_it_consumed)
{
    const std::string list = " a , b";
    wscore_str_t e;
    size_t used = wscore_list_next(list.data(), list.size(), &e);
    BOOST_TEST(used == 4u);   // " a ,"
    BOOST_TEST(std::string(e.data, e.len) == "a");
    used += wscore_list_next(list.data() + used, list.size() - used, &e);
    BOOST_TEST(used == list.size());
    BOOST_TEST(std::string(e.data, e.len) == "b");
    BOOST_TEST(wscore_list_next(list.data() + used, 0, &e) == 0u);
    BOOST_TEST(e.data == nullptr);
}

BOOST_AUTO_TEST_CASE(meta_names_are_tokens_of_at_most_64_bytes)
{
    BOOST_TEST(is_meta_name("room"));
    BOOST_TEST(is_meta_name("Plan-2_x.y"));
    BOOST_TEST(is_meta_name(std::string(64, 'a')));
    BOOST_TEST(!is_meta_name(std::string(65, 'a')));
    BOOST_TEST(!is_meta_name(""));
    BOOST_TEST(!is_meta_name("a b"));
    BOOST_TEST(!is_meta_name("a:b"));
    BOOST_TEST(!is_meta_name("caf\xc3\xa9"));
}

BOOST_AUTO_TEST_CASE(meta_values_are_utf8_without_controls)
{
    BOOST_TEST(is_meta_value(""));
    BOOST_TEST(is_meta_value("gold plan, \"quoted\"\tand tab"));
    BOOST_TEST(is_meta_value("caf\xc3\xa9"));
    BOOST_TEST(!is_meta_value("line\r\nInjected: 1"));
    BOOST_TEST(!is_meta_value(std::string("nul\0", 4)));
    BOOST_TEST(!is_meta_value("del\x7f"));
    BOOST_TEST(!is_meta_value("\xc3"));        // truncated sequence
    BOOST_TEST(!is_meta_value("\xff"));
}

BOOST_AUTO_TEST_CASE(close_event_is_one_json_object_with_every_field)
{
    const MetaPair meta[] = {{"room", "lobby"}, {"plan", "gold \"vip\""}};
    CloseEvent ev;
    ev.connection_id = 18446744073709551615ull;
    ev.code = 1001;
    ev.closed_by = "server";
    ev.duration_ms = 1234;
    ev.messages_in = 3;
    ev.messages_out = 4;
    ev.bytes_in = 50;
    ev.bytes_out = 60;
    ev.user = "alice";
    ev.meta = meta;

    const auto json = close_event(ev);
    BOOST_TEST(json ==
        R"({"event":"close","connection_id":"18446744073709551615",)"
        R"("code":1001,"closed_by":"server","duration_ms":1234,)"
        R"("messages_in":3,"messages_out":4,"bytes_in":50,"bytes_out":60,)"
        R"("user":"alice","meta":{"room":"lobby","plan":"gold \"vip\""}})");
    BOOST_TEST(valid_json(json));
}

BOOST_AUTO_TEST_CASE(close_event_without_user_or_meta)
{
    CloseEvent ev;
    ev.code = 1006;
    ev.closed_by = "none";
    const auto json = close_event(ev);
    BOOST_TEST(json.find(R"("user":null,"meta":{}})") != std::string::npos);
    BOOST_TEST(valid_json(json));
}

BOOST_AUTO_TEST_CASE(close_event_is_not_written_when_it_does_not_fit)
{
    CloseEvent ev;
    ev.closed_by = "client";
    const size_t need = write_close_event({}, ev);
    std::string small(need - 1, 'x');
    BOOST_TEST(write_close_event(small, ev) == need);
    BOOST_TEST(small == std::string(need - 1, 'x'));
}

BOOST_AUTO_TEST_CASE(close_event_through_the_c_api)
{
    const wscore_pair_t meta[] = {{{"k", 1}, {"v\n", 2}}};
    wscore_close_event_t ev{};
    ev.connection_id = 7;
    ev.code = 1000;
    ev.closed_by = "client";
    ev.user = {nullptr, 0};
    ev.meta = meta;
    ev.meta_n = 1;
    std::string out(wscore_close_event_write(nullptr, 0, &ev), '\0');
    BOOST_TEST(wscore_close_event_write(out.data(), out.size(), &ev)
               == out.size());
    BOOST_TEST(out.find(R"("connection_id":"7")") != std::string::npos);
    BOOST_TEST(out.find(R"("meta":{"k":"v\n"}})") != std::string::npos);
    BOOST_TEST(valid_json(out));
}

BOOST_AUTO_TEST_CASE(json_media_types)
{
    for (const std::string_view yes :
         {"application/json"sv, "Application/JSON"sv,
          "application/json; charset=utf-8"sv, " application/json ;x=y"sv,
          "application/problem+json"sv, "text/vnd.a+JSON"sv}) {
        BOOST_TEST(is_json_media_type(yes), yes);
    }
    for (const std::string_view no :
         {""sv, "json"sv, "text/plain"sv, "application/jsonx"sv,
          "application/json/x"sv, "/json"sv, "application/"sv,
          "application/+json"sv, "text/html; a=application/json"sv,
          "application /json"sv, "application/x-json"sv}) {
        BOOST_TEST(!is_json_media_type(no), no);
    }
    BOOST_TEST(wscore_media_type_is_json("application/json", 16) == 1);
    BOOST_TEST(wscore_media_type_is_json("text/plain", 10) == 0);
    BOOST_TEST(wscore_media_type_is_json(nullptr, 0) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
