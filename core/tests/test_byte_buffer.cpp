#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>

#include "byte_buffer.hpp"

using wscore::ByteBuffer;

namespace {

std::string str(const ByteBuffer &b)
{
    return {b.bytes().begin(), b.bytes().end()};
}

std::span<const std::uint8_t> s(std::string_view v)
{
    return {reinterpret_cast<const std::uint8_t *>(v.data()), v.size()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(byte_buffer)

BOOST_AUTO_TEST_CASE(append_truncate_erase)
{
    ByteBuffer b;
    BOOST_TEST(b.empty());
    BOOST_TEST(b.append(s("hello ")));
    BOOST_TEST(b.append(s("world")));
    BOOST_TEST(str(b) == "hello world");
    b.truncate(5);
    BOOST_TEST(str(b) == "hello");
    b.erase_front(2);
    BOOST_TEST(str(b) == "llo");
    b.erase_front(10);
    BOOST_TEST(b.empty());
}

BOOST_AUTO_TEST_CASE(trim_frees_big_storage_only)
{
    ByteBuffer b;
    b.extend(100);
    b.clear_and_trim(1024);
    BOOST_TEST(b.capacity() > 0u);
    b.extend(5000);
    b.clear_and_trim(1024);
    BOOST_TEST(b.capacity() == 0u);
    BOOST_TEST(b.data() == nullptr);
}

BOOST_AUTO_TEST_CASE(refuses_growth_past_max_size)
{
    ByteBuffer b;
    b.extend(10);
    BOOST_TEST(b.extend(ByteBuffer::max_size) == nullptr);
    BOOST_TEST(b.size() == 10u);
}

BOOST_AUTO_TEST_CASE(move)
{
    ByteBuffer a;
    a.append(s("abc"));
    ByteBuffer b(std::move(a));
    BOOST_TEST(str(b) == "abc");
    BOOST_TEST(a.size() == 0u);
    ByteBuffer c;
    c = std::move(b);
    BOOST_TEST(str(c) == "abc");
}

BOOST_AUTO_TEST_SUITE_END()
