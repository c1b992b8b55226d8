// NodePool: fixed-size blocks packed in 64 KiB areas of their own, and
// NodePoolAllocator, which gives a node-based container (the router's map
// of subscribers) its single-node allocations from one.
//
// Why: an idle connection's subscription is a node of the router's map,
// made during the handshake, among the request's short-lived blocks that
// NGINX frees once the 101 is out. From the heap each node costs its size
// plus malloc's header and rounding (40 bytes in a 48-byte chunk), and it
// keeps partly-empty heap pages resident among the holes the handshakes
// leave. Here nodes sit side by side, a page is touched only once a slot in
// it is first used, a freed slot is the next one taken, and an area whose
// slots are all free goes back (unless it is the only one with room).
//
// One pool per container (the allocator holds a pointer to it), so no
// global state; not thread-safe, as the router is not.

#ifndef WSCORE_NODE_POOL_HPP
#define WSCORE_NODE_POOL_HPP

#include <cstddef>
#include <cstdint>
#include <memory>

// Under AddressSanitizer containers take nothing from a pool, so that a
// use after free of a node is still caught.
#if defined(__SANITIZE_ADDRESS__)
#define WSCORE_NODE_POOL_ON 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WSCORE_NODE_POOL_ON 0
#endif
#endif
#ifndef WSCORE_NODE_POOL_ON
#define WSCORE_NODE_POOL_ON 1
#endif

namespace wscore {

class NodePool {
public:
    // Blocks of `size` bytes (rounded up to the alignment of a pointer).
    explicit NodePool(std::size_t size) noexcept;
    NodePool(const NodePool &) = delete;
    NodePool &operator=(const NodePool &) = delete;
    // Every block must have been given back.
    ~NodePool();

    std::size_t block_size() const noexcept { return size_; }
    // Throws std::bad_alloc when a new area cannot be had.
    void *allocate();
    void deallocate(void *p) noexcept;
    // Areas held (for the tests).
    std::size_t areas() const noexcept { return areas_; }

    static constexpr std::size_t area_size = 64 * 1024;

private:
    struct Area;
    void link(Area *area) noexcept;
    static void unlink(Area *area) noexcept;

    std::size_t size_;
    Area *with_room_ = nullptr;     // areas with a free slot
    std::size_t areas_ = 0;
};

// Single objects of a size the pool takes come from the pool; anything
// else (arrays: a hash table's buckets) from std::allocator.
template <class T>
class NodePoolAllocator {
public:
    using value_type = T;

    explicit NodePoolAllocator(NodePool &pool) noexcept : pool_(&pool) {}
    template <class U>
    NodePoolAllocator(const NodePoolAllocator<U> &other) noexcept
        : pool_(other.pool_)
    {
    }

    T *allocate(std::size_t n)
    {
        if (pooled(n)) {
            return static_cast<T *>(pool_->allocate());
        }
        return std::allocator<T>{}.allocate(n);
    }

    void deallocate(T *p, std::size_t n) noexcept
    {
        if (pooled(n)) {
            pool_->deallocate(p);
            return;
        }
        std::allocator<T>{}.deallocate(p, n);
    }

    template <class U>
    bool operator==(const NodePoolAllocator<U> &other) const noexcept
    {
        return pool_ == other.pool_;
    }

private:
    template <class U>
    friend class NodePoolAllocator;

    // The same answer at allocate and deallocate: it depends on T and n.
    bool pooled(std::size_t n) const noexcept
    {
        return WSCORE_NODE_POOL_ON && n == 1 && sizeof(T) > sizeof(void *)
            && sizeof(T) <= pool_->block_size()
            && alignof(T) <= alignof(void *);
    }

    NodePool *pool_;
};

}  // namespace wscore

#endif
