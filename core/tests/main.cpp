// The Boost.Test runner; every test_*.cpp adds its suites to it.
#define BOOST_TEST_MODULE wscore
#include <boost/test/unit_test.hpp>
