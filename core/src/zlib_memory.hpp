// zlib allocation hooks that count what a stream holds, so the memory a
// connection spends on compression can be measured and documented.

#ifndef WSCORE_ZLIB_MEMORY_HPP
#define WSCORE_ZLIB_MEMORY_HPP

#include <zlib.h>

#include <cstddef>

namespace wscore {

// Installs the counting hooks on z; *counter tracks the live bytes (it
// must outlive the stream).
void count_zlib_memory(z_stream &z, std::size_t *counter) noexcept;

}  // namespace wscore

#endif
