// NodePool (node_pool.hpp).

#include "node_pool.hpp"

#include <cassert>
#include <new>

namespace wscore {

// At the start of each area, which is aligned to its size, so a block
// finds its area by masking its address.
struct NodePool::Area {
    Area *next;                 // in with_room_
    Area **prev;                // nullptr: full, not in with_room_
    void *free;                 // freed blocks, singly linked
    std::byte *fresh;           // the first block never used
    std::byte *end;
    std::size_t used;
};

namespace {

constexpr std::size_t header_size =
    (sizeof(void *) * 6 + alignof(std::max_align_t) - 1)
    & ~(alignof(std::max_align_t) - 1);

}  // namespace

NodePool::NodePool(std::size_t size) noexcept
    : size_((size + alignof(void *) - 1) & ~(alignof(void *) - 1))
{
}

NodePool::~NodePool()
{
    // Only the last area with room may be left, empty.
    while (with_room_ != nullptr) {
        Area *area = with_room_;
        assert(area->used == 0);
        unlink(area);
        ::operator delete(area, std::align_val_t{area_size});
    }
}

void *NodePool::allocate()
{
    Area *area = with_room_;
    if (area == nullptr) {
        static_assert(sizeof(Area) <= header_size);
        auto *start = static_cast<std::byte *>(
            ::operator new(area_size, std::align_val_t{area_size}));
        area = ::new (start) Area{nullptr, nullptr, nullptr,
                                  start + header_size, start + area_size, 0};
        ++areas_;
        link(area);
    }

    void *p;
    if (area->free != nullptr) {
        p = area->free;
        area->free = *static_cast<void **>(p);
    } else {
        p = area->fresh;
        area->fresh += size_;
    }
    ++area->used;

    if (area->free == nullptr
        && static_cast<std::size_t>(area->end - area->fresh) < size_) {
        unlink(area);
    }
    return p;
}

void NodePool::deallocate(void *p) noexcept
{
    auto *area = reinterpret_cast<Area *>(
        reinterpret_cast<std::uintptr_t>(p) & ~(std::uintptr_t{area_size} - 1));

    *static_cast<void **>(p) = area->free;
    area->free = p;
    --area->used;

    if (area->prev == nullptr) {
        link(area);
        return;
    }
    // The last area with room stays, for the next node.
    if (area->used == 0 && (with_room_ != area || area->next != nullptr)) {
        unlink(area);
        --areas_;
        ::operator delete(area, std::align_val_t{area_size});
    }
}

void NodePool::link(Area *area) noexcept
{
    area->next = with_room_;
    area->prev = &with_room_;
    if (area->next != nullptr) {
        area->next->prev = &area->next;
    }
    with_room_ = area;
}

void NodePool::unlink(Area *area) noexcept
{
    *area->prev = area->next;
    if (area->next != nullptr) {
        area->next->prev = area->prev;
    }
    area->next = nullptr;
    area->prev = nullptr;
}

}  // namespace wscore
