#include "allocation_failure.hpp"

#include <cstdlib>
#include <new>

namespace {

// Single-threaded test runner: plain globals are fine here.
long countdown = -1;
bool failed = false;

}  // namespace

namespace wscore::test {

void fail_allocation(long nth) noexcept
{
    countdown = nth;
    failed = false;
}

bool allocation_failed() noexcept
{
    countdown = -1;
    return failed;
}

}  // namespace wscore::test

void *operator new(std::size_t n)
{
    if (countdown >= 0 && countdown-- == 0) {
        failed = true;
        throw std::bad_alloc();
    }
    if (void *p = std::malloc(n != 0 ? n : 1)) {
        return p;
    }
    throw std::bad_alloc();
}

void *operator new[](std::size_t n)
{
    return operator new(n);
}

// The nothrow forms must be replaced too, or sanitizers see their
// allocations released by the free() below and report a mismatch.
void *operator new(std::size_t n, const std::nothrow_t &) noexcept
{
    try {
        return operator new(n);
    } catch (...) {
        return nullptr;
    }
}

void *operator new[](std::size_t n, const std::nothrow_t &) noexcept
{
    return operator new(n, std::nothrow);
}

void operator delete(void *p) noexcept
{
    std::free(p);
}

void operator delete[](void *p) noexcept
{
    std::free(p);
}

void operator delete(void *p, std::size_t) noexcept
{
    std::free(p);
}

void operator delete[](void *p, std::size_t) noexcept
{
    std::free(p);
}

// The aligned forms (NodePool's areas) count and fail like the others.
void *operator new(std::size_t n, std::align_val_t align)
{
    if (countdown >= 0 && countdown-- == 0) {
        failed = true;
        throw std::bad_alloc();
    }
    const auto a = static_cast<std::size_t>(align);
    if (void *p = std::aligned_alloc(a, (n + a - 1) / a * a)) {
        return p;
    }
    throw std::bad_alloc();
}

void operator delete(void *p, std::align_val_t) noexcept
{
    std::free(p);
}

void operator delete(void *p, std::size_t, std::align_val_t) noexcept
{
    std::free(p);
}
