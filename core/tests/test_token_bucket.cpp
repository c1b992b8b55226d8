#include <boost/test/unit_test.hpp>

#include <cstdint>

#include "token_bucket.hpp"

using namespace wscore;

BOOST_AUTO_TEST_SUITE(token_bucket)

namespace {

constexpr std::uint64_t per_s(std::uint64_t n) { return 60 * n; }

}  // namespace

BOOST_AUTO_TEST_CASE(starts_full_and_allows_a_burst)
{
    wscore_bucket_t b{};
    for (int i = 0; i < 5; ++i) {
        BOOST_TEST(bucket_take(b, per_s(10), 5, 1, 1000), i);
    }
    BOOST_TEST(!bucket_take(b, per_s(10), 5, 1, 1000));
}

BOOST_AUTO_TEST_CASE(refills_at_the_rate)
{
    wscore_bucket_t b{};
    // 10 per second: one token every 100 ms
    BOOST_TEST(bucket_take(b, per_s(10), 1, 1, 0));
    BOOST_TEST(!bucket_take(b, per_s(10), 1, 1, 99));
    BOOST_TEST(bucket_take(b, per_s(10), 1, 1, 100));
    BOOST_TEST(!bucket_take(b, per_s(10), 1, 1, 150));
    BOOST_TEST(bucket_take(b, per_s(10), 1, 1, 200));
}

BOOST_AUTO_TEST_CASE(rates_per_minute_are_exact)
{
    // one a minute: 60 s for a token, not a millisecond less
    wscore_bucket_t b{};
    BOOST_TEST(bucket_take(b, 1, 1, 1, 0));
    BOOST_TEST(!bucket_take(b, 1, 1, 1, 59999));
    BOOST_TEST(bucket_take(b, 1, 1, 1, 60000));

    // 7 a minute: the fractions add up, 3 tokens after 3/7 of a minute
    wscore_bucket_t c{};
    BOOST_TEST(bucket_take(c, 7, 3, 3, 0));
    BOOST_TEST(!bucket_take(c, 7, 3, 3, 25714));
    BOOST_TEST(bucket_take(c, 7, 3, 3, 25715));

    // rate 0 never refills
    wscore_bucket_t d{};
    BOOST_TEST(bucket_take(d, 0, 1, 1, 0));
    BOOST_TEST(!bucket_take(d, 0, 1, 1, 1000000));
}

BOOST_AUTO_TEST_CASE(never_above_the_burst)
{
    wscore_bucket_t b{};
    BOOST_TEST(bucket_take(b, per_s(100), 3, 3, 0));
    // an hour idle refills to 3, not more
    BOOST_TEST(bucket_take(b, per_s(100), 3, 3, 3600 * 1000));
    BOOST_TEST(!bucket_take(b, per_s(100), 3, 1, 3600 * 1000));
}

BOOST_AUTO_TEST_CASE(costs_are_bytes_for_byte_rates)
{
    wscore_bucket_t b{};
    // 1000 bytes a second, burst 1500
    BOOST_TEST(bucket_take(b, per_s(1000), 1500, 1200, 0));
    BOOST_TEST(!bucket_take(b, per_s(1000), 1500, 1000, 0));
    BOOST_TEST(bucket_take(b, per_s(1000), 1500, 1000, 700));    // 300 + 700
    // a message larger than the burst never passes
    wscore_bucket_t c{};
    BOOST_TEST(!bucket_take(c, per_s(1000), 1500, 1501, 0));
    BOOST_TEST(bucket_take(c, per_s(1000), 1500, 1500, 0));
}

BOOST_AUTO_TEST_CASE(a_clock_going_back_adds_nothing)
{
    wscore_bucket_t b{};
    BOOST_TEST(bucket_take(b, per_s(10), 1, 1, 1000));
    BOOST_TEST(!bucket_take(b, per_s(10), 1, 1, 500));
    BOOST_TEST(!bucket_take(b, per_s(10), 1, 1, 1050));
    BOOST_TEST(bucket_take(b, per_s(10), 1, 1, 1100));
}

BOOST_AUTO_TEST_CASE(huge_values_do_not_overflow)
{
    wscore_bucket_t b{};
    const std::uint64_t huge = ~std::uint64_t{0};
    BOOST_TEST(bucket_take(b, huge, huge, 1, 0));
    BOOST_TEST(bucket_take(b, huge, huge, huge, huge));
    BOOST_TEST(wscore_bucket_take(nullptr, 1, 1, 1, 0) == 0);
    wscore_bucket_t c{};
    BOOST_TEST(wscore_bucket_take(&c, 1, 1, 1, 0) == 1);
    BOOST_TEST(wscore_bucket_take(&c, 1, 1, 1, 0) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
