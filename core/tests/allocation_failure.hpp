// Makes a chosen operator new fail, to test the NOMEM paths. The test
// binary replaces the global operator new/delete (allocation_failure.cpp);
// until a test arms it, allocation behaves as usual.

#ifndef WSCORE_TESTS_ALLOCATION_FAILURE_HPP
#define WSCORE_TESTS_ALLOCATION_FAILURE_HPP

namespace wscore::test {

// The nth call to operator new from now (0 = the next one) throws
// std::bad_alloc; later calls succeed again.
void fail_allocation(long nth) noexcept;
// Disarms; true when the armed failure did happen.
bool allocation_failed() noexcept;

}  // namespace wscore::test

#endif
