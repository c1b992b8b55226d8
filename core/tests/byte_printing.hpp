// Lets Boost.Test print byte vectors in failure messages (as hex).

#ifndef WSCORE_TESTS_BYTE_PRINTING_HPP
#define WSCORE_TESTS_BYTE_PRINTING_HPP

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <ostream>
#include <vector>

namespace boost::test_tools::tt_detail {

template <>
struct print_log_value<std::vector<std::uint8_t>> {
    void operator()(std::ostream &os, const std::vector<std::uint8_t> &v)
    {
        static const char hex[] = "0123456789abcdef";
        os << '[';
        for (std::size_t i = 0; i < v.size() && i < 64; ++i) {
            os << (i ? " " : "") << hex[v[i] >> 4] << hex[v[i] & 15];
        }
        os << (v.size() > 64 ? " ...]" : "]");
    }
};

}  // namespace boost::test_tools::tt_detail

#endif
