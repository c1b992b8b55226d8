#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "allocation_failure.hpp"
#include "node_pool.hpp"

using wscore::NodePool;
using wscore::NodePoolAllocator;

BOOST_AUTO_TEST_SUITE(node_pool)

BOOST_AUTO_TEST_CASE(blocks_are_packed_without_a_header)
{
    NodePool pool(40);
    BOOST_TEST(pool.block_size() == 40u);
    auto *a = static_cast<std::byte *>(pool.allocate());
    auto *b = static_cast<std::byte *>(pool.allocate());
    BOOST_TEST(b - a == 40);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(a) % alignof(void *) == 0u);
    pool.deallocate(b);
    pool.deallocate(a);
}

BOOST_AUTO_TEST_CASE(a_freed_block_is_the_next_one_taken)
{
    NodePool pool(24);
    void *a = pool.allocate();
    void *b = pool.allocate();
    pool.deallocate(a);
    BOOST_TEST(pool.allocate() == a);
    pool.deallocate(a);
    pool.deallocate(b);
}

BOOST_AUTO_TEST_CASE(empty_areas_go_back_but_the_last)
{
    NodePool pool(40);
    const std::size_t per_area = (NodePool::area_size - 64) / 40;
    std::vector<void *> blocks;
    for (std::size_t i = 0; i < 3 * per_area; ++i) {
        void *p = pool.allocate();
        std::memset(p, 0xab, 40);   // the whole block is the caller's
        blocks.push_back(p);
    }
    BOOST_TEST(pool.areas() >= 3u);
    BOOST_TEST(pool.areas() <= 4u);
    for (void *p : blocks) {
        pool.deallocate(p);
    }
    BOOST_TEST(pool.areas() == 1u);
    // And the area left serves again.
    void *p = pool.allocate();
    BOOST_TEST(pool.areas() == 1u);
    pool.deallocate(p);
}

BOOST_AUTO_TEST_CASE(a_map_takes_its_nodes_from_the_pool)
{
    NodePool pool(sizeof(void *) + sizeof(std::pair<void *const, long>));
    using Map = std::unordered_map<void *, long, std::hash<void *>,
        std::equal_to<void *>,
        NodePoolAllocator<std::pair<void *const, long>>>;
    {
        Map map{0, std::hash<void *>{}, std::equal_to<void *>{},
                NodePoolAllocator<std::pair<void *const, long>>{pool}};
        BOOST_TEST(pool.areas() == 0u);
        for (std::uintptr_t i = 1; i <= 5000; ++i) {
            map.emplace(reinterpret_cast<void *>(i), static_cast<long>(i));
        }
        // 5000 nodes of 24 bytes: two areas, whatever the bucket arrays
        BOOST_TEST(pool.areas() == (WSCORE_NODE_POOL_ON ? 2u : 0u));
        for (std::uintptr_t i = 1; i <= 5000; ++i) {
            BOOST_TEST(map.at(reinterpret_cast<void *>(i))
                       == static_cast<long>(i));
        }
    }
    BOOST_TEST(pool.areas() == (WSCORE_NODE_POOL_ON ? 1u : 0u));
}

BOOST_AUTO_TEST_CASE(no_area_to_be_had_is_bad_alloc)
{
    NodePool pool(40);
    wscore::test::fail_allocation(0);
    BOOST_CHECK_THROW(pool.allocate(), std::bad_alloc);
    BOOST_TEST(wscore::test::allocation_failed());
    BOOST_TEST(pool.areas() == 0u);
    void *p = pool.allocate();
    BOOST_TEST(pool.areas() == 1u);
    pool.deallocate(p);
}

BOOST_AUTO_TEST_SUITE_END()
