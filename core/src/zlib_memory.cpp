#include "zlib_memory.hpp"

#include <cstdlib>

namespace wscore {

namespace {

// Each block carries its size in front, for the counter on free.
constexpr std::size_t prefix = alignof(std::max_align_t);

voidpf counted_alloc(voidpf opaque, uInt items, uInt size) noexcept
{
    const std::size_t bytes = std::size_t{items} * size;
    auto *block = static_cast<unsigned char *>(std::malloc(prefix + bytes));
    if (block == nullptr) {
        return Z_NULL;
    }
    *reinterpret_cast<std::size_t *>(block) = bytes;
    *static_cast<std::size_t *>(opaque) += bytes;
    return block + prefix;
}

void counted_free(voidpf opaque, voidpf address) noexcept
{
    if (address == Z_NULL) {
        return;
    }
    auto *block = static_cast<unsigned char *>(address) - prefix;
    *static_cast<std::size_t *>(opaque) -=
        *reinterpret_cast<std::size_t *>(block);
    std::free(block);
}

}  // namespace

void count_zlib_memory(z_stream &z, std::size_t *counter) noexcept
{
    z.zalloc = counted_alloc;
    z.zfree = counted_free;
    z.opaque = counter;
}

}  // namespace wscore
