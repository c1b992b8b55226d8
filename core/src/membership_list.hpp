// MembershipList: a subscriber's channels in the router (router.hpp), a
// list with room for one element inside itself.
//
// Nearly every subscriber is on one channel, and a std::vector would give
// that one membership a heap block of its own (16 bytes, a 32-byte chunk)
// besides the 24 bytes of the vector itself in the subscriber's map node.
// Here the one membership sits where the vector's pointers would be, so
// the list is 24 bytes and an idle subscriber has no block for it; a
// second membership moves the list to the heap, where it stays until the
// list is destroyed.
//
// Only what the router needs: no iterators invalidated by anything but
// growth (as a vector), no order kept by the router beyond what it does
// itself with swap-remove.

#ifndef WSCORE_MEMBERSHIP_LIST_HPP
#define WSCORE_MEMBERSHIP_LIST_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

namespace wscore {

template <class T>
class MembershipList {
    static_assert(std::is_trivially_copyable_v<T>
        && std::is_trivially_destructible_v<T>);

public:
    MembershipList() noexcept = default;
    MembershipList(const MembershipList &) = delete;
    MembershipList &operator=(const MembershipList &) = delete;
    ~MembershipList() { release(); }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    T *begin() noexcept { return data(); }
    T *end() noexcept { return data() + size_; }
    const T *begin() const noexcept { return data(); }
    const T *end() const noexcept { return data() + size_; }

    T &operator[](std::size_t i) noexcept { return data()[i]; }
    const T &operator[](std::size_t i) const noexcept { return data()[i]; }
    T &back() noexcept { return data()[size_ - 1]; }

    // Room for one more, so that the push_back that follows cannot fail:
    // throws std::bad_alloc (the list unchanged) when there is no memory.
    void reserve_one()
    {
        if (size_ < capacity_) {
            return;
        }
        const std::uint32_t grown = 2 * capacity_;
        T *bigger = new T[grown];
        for (std::uint32_t i = 0; i < size_; ++i) {
            bigger[i] = data()[i];
        }
        release();
        heap_ = bigger;
        capacity_ = grown;
    }

    // After reserve_one().
    void push_back(const T &value) noexcept { data()[size_++] = value; }
    void pop_back() noexcept { --size_; }

private:
    bool inline_storage() const noexcept { return capacity_ == 1; }
    T *data() noexcept { return inline_storage() ? &one_ : heap_; }
    const T *data() const noexcept
    {
        return inline_storage() ? &one_ : heap_;
    }
    void release() noexcept
    {
        if (!inline_storage()) {
            delete[] heap_;
        }
    }

    union {
        T one_;             // capacity_ == 1
        T *heap_;           // capacity_ > 1
    };
    std::uint32_t size_ = 0;
    std::uint32_t capacity_ = 1;
};

}  // namespace wscore

#endif
