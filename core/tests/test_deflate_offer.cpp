#include <boost/test/unit_test.hpp>

#include <string>

#include "deflate_offer.hpp"

using namespace wscore;

namespace {

using Outcome = DeflateNegotiation::Outcome;

DeflatePolicy policy(std::uint8_t server_bits = 15,
    std::uint8_t client_bits = 15, bool server_nct = false)
{
    DeflatePolicy p;
    p.server_max_window_bits = server_bits;
    p.client_max_window_bits = client_bits;
    p.server_no_context_takeover = server_nct;
    return p;
}

// The answer for header under policy p, "" when declined, "MALFORMED".
std::string answer(std::string_view header, const DeflatePolicy &p = policy())
{
    const DeflateNegotiation n = negotiate_deflate(header, p);
    switch (n.outcome) {
    case Outcome::malformed: return "MALFORMED";
    case Outcome::declined: return "";
    case Outcome::accepted: break;
    }
    return std::string(n.answer_text());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(deflate_offer)

BOOST_AUTO_TEST_CASE(plain_offer_is_accepted_with_defaults)
{
    const DeflateNegotiation n = negotiate_deflate("permessage-deflate",
                                                   policy());
    BOOST_TEST((n.outcome == Outcome::accepted));
    BOOST_TEST(n.answer_text() == "permessage-deflate");
    BOOST_TEST(n.params.server_max_window_bits == 15);
    BOOST_TEST(n.params.client_max_window_bits == 15);
    BOOST_TEST(!n.params.server_no_context_takeover);
    BOOST_TEST(!n.params.client_no_context_takeover);
}

BOOST_AUTO_TEST_CASE(what_browsers_and_libraries_send)
{
    // Chromium, Firefox, Python websockets, Node ws.
    BOOST_TEST(answer("permessage-deflate; client_max_window_bits")
               == "permessage-deflate");
    BOOST_TEST(answer("permessage-deflate; client_max_window_bits",
                      policy(15, 12))
               == "permessage-deflate; client_max_window_bits=12");
    // Safari's older x-webkit-deflate-frame is not ours: declined.
    BOOST_TEST(answer("x-webkit-deflate-frame") == "");
}

// Every parameter alone, with and without a value, valid and invalid.
BOOST_AUTO_TEST_CASE(each_parameter)
{
    struct Row { const char *offer; const char *want; };
    const Row rows[] = {
        {"permessage-deflate; server_no_context_takeover",
         "permessage-deflate; server_no_context_takeover"},
        {"permessage-deflate; server_no_context_takeover=1", ""},
        {"permessage-deflate; client_no_context_takeover",
         "permessage-deflate; client_no_context_takeover"},
        {"permessage-deflate; client_no_context_takeover=x", ""},
        {"permessage-deflate; server_max_window_bits=10",
         "permessage-deflate; server_max_window_bits=10"},
        {"permessage-deflate; server_max_window_bits=15",
         "permessage-deflate; server_max_window_bits=15"},
        {"permessage-deflate; server_max_window_bits=9",
         "permessage-deflate; server_max_window_bits=9"},
        // zlib cannot compress with a 256-byte window: declined.
        {"permessage-deflate; server_max_window_bits=8", ""},
        {"permessage-deflate; server_max_window_bits", ""},
        {"permessage-deflate; server_max_window_bits=7", ""},
        {"permessage-deflate; server_max_window_bits=16", ""},
        {"permessage-deflate; server_max_window_bits=010", ""},
        {"permessage-deflate; server_max_window_bits=1a", ""},
        {"permessage-deflate; server_max_window_bits=100000000009", ""},
        {"permessage-deflate; client_max_window_bits",
         "permessage-deflate"},
        {"permessage-deflate; client_max_window_bits=8",
         "permessage-deflate; client_max_window_bits=8"},
        {"permessage-deflate; client_max_window_bits=11",
         "permessage-deflate; client_max_window_bits=11"},
        {"permessage-deflate; client_max_window_bits=15",
         "permessage-deflate"},
        {"permessage-deflate; client_max_window_bits=16", ""},
        {"permessage-deflate; client_max_window_bits=0", ""},
        {"permessage-deflate; unknown_parameter", ""},
        {"permessage-deflate; unknown=1", ""},
    };
    for (const Row &row : rows) {
        BOOST_TEST_CONTEXT(row.offer) {
            BOOST_TEST(answer(row.offer) == row.want);
        }
    }
}

BOOST_AUTO_TEST_CASE(quoted_values_are_unquoted)
{
    BOOST_TEST(answer("permessage-deflate; server_max_window_bits=\"10\"")
               == "permessage-deflate; server_max_window_bits=10");
    BOOST_TEST(answer("permessage-deflate; client_max_window_bits=\"1\\1\"")
               == "permessage-deflate; client_max_window_bits=11");
    // Quoted but not a token after unquoting: the header is malformed.
    BOOST_TEST(answer("permessage-deflate; server_max_window_bits=\"1 0\"")
               == "MALFORMED");
    BOOST_TEST(answer("permessage-deflate; server_max_window_bits=\"\"")
               == "MALFORMED");
    BOOST_TEST(answer("permessage-deflate; server_max_window_bits=\"10")
               == "MALFORMED");
}

BOOST_AUTO_TEST_CASE(repeated_parameters_decline_the_offer)
{
    const char *offers[] = {
        "permessage-deflate; server_no_context_takeover; "
        "server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; "
        "client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10; "
        "server_max_window_bits=10",
        "permessage-deflate; client_max_window_bits; client_max_window_bits",
    };
    for (const char *offer : offers) {
        BOOST_TEST_CONTEXT(offer) {
            const DeflateNegotiation n = negotiate_deflate(offer, policy());
            BOOST_TEST((n.outcome == Outcome::declined));
            BOOST_TEST(std::string(n.reason).find("repeated")
                       != std::string::npos);
        }
    }
}

// Every combination of the four parameters (each absent or in a valid
// form), under a few policies: the answer must follow RFC 7692 7.1.
BOOST_AUTO_TEST_CASE(every_combination)
{
    const char *server_bits[] = {nullptr, "9", "12", "15"};
    const char *client_bits[] = {nullptr, "", "8", "12", "15"};
    const DeflatePolicy policies[] = {policy(), policy(10, 9),
                                      policy(15, 15, true), policy(9, 8)};
    int checked = 0;
    for (const DeflatePolicy &p : policies)
    for (int snct = 0; snct < 2; ++snct)
    for (int cnct = 0; cnct < 2; ++cnct)
    for (const char *sb : server_bits)
    for (const char *cb : client_bits) {
        std::string offer = "permessage-deflate";
        if (snct) offer += "; server_no_context_takeover";
        if (cnct) offer += "; client_no_context_takeover";
        if (sb) offer += std::string("; server_max_window_bits=") + sb;
        if (cb) {
            offer += "; client_max_window_bits";
            if (*cb) offer += std::string("=") + cb;
        }
        BOOST_TEST_CONTEXT(offer << " policy " << int{p.server_max_window_bits}
                           << "/" << int{p.client_max_window_bits} << "/"
                           << p.server_no_context_takeover) {
            const DeflateNegotiation n = negotiate_deflate(offer, p);
            BOOST_TEST_REQUIRE((n.outcome == Outcome::accepted));
            const unsigned offered_sb = sb ? std::stoul(sb) : 15;
            const unsigned want_sb =
                std::min<unsigned>(offered_sb, p.server_max_window_bits);
            BOOST_TEST(n.params.server_max_window_bits == want_sb);
            const unsigned offered_cb = cb && *cb ? std::stoul(cb) : 15;
            const unsigned want_cb = cb
                ? std::min<unsigned>(offered_cb, p.client_max_window_bits)
                : 15;
            BOOST_TEST(n.params.client_max_window_bits == want_cb);
            BOOST_TEST(n.params.server_no_context_takeover
                       == (snct || p.server_no_context_takeover));
            BOOST_TEST(n.params.client_no_context_takeover == bool(cnct));

            std::string want = "permessage-deflate";
            if (n.params.server_no_context_takeover)
                want += "; server_no_context_takeover";
            if (cnct) want += "; client_no_context_takeover";
            if (sb || want_sb < 15)
                want += "; server_max_window_bits=" + std::to_string(want_sb);
            // Never a client window the offer did not name (7.1.2.2).
            if (cb && want_cb < 15)
                want += "; client_max_window_bits=" + std::to_string(want_cb);
            BOOST_TEST(n.answer_text() == want);
            ++checked;
        }
    }
    BOOST_TEST(checked == 4 * 2 * 2 * 4 * 5);
}

BOOST_AUTO_TEST_CASE(first_acceptable_offer_wins)
{
    // The first offer is declined (8 bits), the second accepted.
    BOOST_TEST(answer("permessage-deflate; server_max_window_bits=8, "
                      "permessage-deflate; server_max_window_bits=10")
               == "permessage-deflate; server_max_window_bits=10");
    // Unknown extensions before and after are skipped.
    BOOST_TEST(answer("foo; a=1, permessage-deflate; "
                      "client_no_context_takeover, bar")
               == "permessage-deflate; client_no_context_takeover");
    // Only the first acceptable one counts.
    BOOST_TEST(answer("permessage-deflate; server_max_window_bits=11, "
                      "permessage-deflate")
               == "permessage-deflate; server_max_window_bits=11");
    // Nothing acceptable: declined, with the first reason.
    const DeflateNegotiation n = negotiate_deflate(
        "permessage-deflate; x, permessage-deflate; server_max_window_bits=8",
        policy());
    BOOST_TEST((n.outcome == Outcome::declined));
    BOOST_TEST(n.reason == std::string("unknown permessage-deflate parameter"));
}

BOOST_AUTO_TEST_CASE(policy_below_the_offer)
{
    // The server may always use a smaller window than offered or unasked.
    BOOST_TEST(answer("permessage-deflate", policy(10))
               == "permessage-deflate; server_max_window_bits=10");
    BOOST_TEST(answer("permessage-deflate; server_max_window_bits=12",
                      policy(10))
               == "permessage-deflate; server_max_window_bits=10");
    // A client window is asked only of clients that name the parameter.
    BOOST_TEST(answer("permessage-deflate", policy(15, 9))
               == "permessage-deflate");
    BOOST_TEST(answer("permessage-deflate", policy(15, 15, true))
               == "permessage-deflate; server_no_context_takeover");
}

BOOST_AUTO_TEST_CASE(whitespace_case_and_empty_elements)
{
    BOOST_TEST(answer("  permessage-deflate ;\tclient_max_window_bits = 10 ,")
               == "permessage-deflate; client_max_window_bits=10");
    BOOST_TEST(answer(", ,permessage-deflate") == "permessage-deflate");
    // Extension names are compared exactly.
    BOOST_TEST(answer("Permessage-Deflate") == "");
    BOOST_TEST(answer("") == "");
}

BOOST_AUTO_TEST_CASE(malformed_headers)
{
    const char *headers[] = {
        "permessage-deflate;",
        "permessage-deflate; ;",
        "permessage-deflate; =10",
        "permessage-deflate; server_max_window_bits=",
        "permessage-deflate; a=b=c",
        "permessage-deflate client_max_window_bits",
        ";permessage-deflate",
        "permessage-deflate; a=\"x",
        "permessage-deflate; a=\"x\\",
        "perm\"essage-deflate",
        "permessage-deflate, foo;",
        "permessage-deflate; server_max_window_bits=1 0",
        "permessage-deflate; a=(b)",
    };
    for (const char *h : headers) {
        BOOST_TEST_CONTEXT(h) {
            const DeflateNegotiation n = negotiate_deflate(h, policy());
            BOOST_TEST((n.outcome == Outcome::malformed));
            BOOST_TEST(std::string(n.reason).find("malformed")
                       != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(answer_fits_with_every_parameter)
{
    const DeflateNegotiation n = negotiate_deflate(
        "permessage-deflate; server_no_context_takeover; "
        "client_no_context_takeover; server_max_window_bits=10; "
        "client_max_window_bits=10", policy());
    BOOST_TEST(n.answer_text() ==
               "permessage-deflate; server_no_context_takeover; "
               "client_no_context_takeover; server_max_window_bits=10; "
               "client_max_window_bits=10");
    BOOST_TEST(n.answer_len < max_deflate_answer_len);
}

BOOST_AUTO_TEST_SUITE_END()
