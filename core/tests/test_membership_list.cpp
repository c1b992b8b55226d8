#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <new>

#include "allocation_failure.hpp"
#include "membership_list.hpp"

using wscore::MembershipList;

namespace {

// The router's membership: a pointer and a 32-bit index.
struct Entry {
    void *owner;
    std::uint32_t index;
};

using List = MembershipList<Entry>;

Entry entry(std::uint32_t n)
{
    return Entry{reinterpret_cast<void *>(std::uintptr_t{n} + 1), n};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(membership_list)

BOOST_AUTO_TEST_CASE(is_the_size_of_a_vector)
{
    // The point of it: in the router's map node where a std::vector was.
    BOOST_TEST(sizeof(List) == 24u);
}

BOOST_AUTO_TEST_CASE(one_element_takes_no_allocation)
{
    List list;
    wscore::test::fail_allocation(0);
    list.reserve_one();
    list.push_back(entry(7));
    BOOST_TEST(!wscore::test::allocation_failed());
    BOOST_TEST(list.size() == 1u);
    BOOST_TEST(list[0].index == 7u);
    BOOST_TEST(list.back().owner == entry(7).owner);
}

BOOST_AUTO_TEST_CASE(grows_onto_the_heap_and_keeps_its_elements)
{
    List list;
    for (std::uint32_t i = 0; i < 100; ++i) {
        list.reserve_one();
        list.push_back(entry(i));
    }
    BOOST_TEST(list.size() == 100u);
    std::uint32_t expected = 0;
    for (const Entry &e : list) {
        BOOST_TEST(e.index == expected);
        BOOST_TEST(e.owner == entry(expected).owner);
        ++expected;
    }
    BOOST_TEST(expected == 100u);

    // Swap-remove, as the router does it.
    list[3] = list.back();
    list.pop_back();
    BOOST_TEST(list.size() == 99u);
    BOOST_TEST(list[3].index == 99u);

    while (!list.empty()) {
        list.pop_back();
    }
    BOOST_TEST(list.size() == 0u);
}

BOOST_AUTO_TEST_CASE(a_failed_growth_changes_nothing)
{
    List list;
    list.reserve_one();
    list.push_back(entry(1));

    wscore::test::fail_allocation(0);
    BOOST_CHECK_THROW(list.reserve_one(), std::bad_alloc);
    BOOST_TEST(wscore::test::allocation_failed());
    BOOST_TEST(list.size() == 1u);
    BOOST_TEST(list[0].index == 1u);

    list.reserve_one();
    list.push_back(entry(2));
    BOOST_TEST(list.size() == 2u);
    BOOST_TEST(list[0].index == 1u);
    BOOST_TEST(list[1].index == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
