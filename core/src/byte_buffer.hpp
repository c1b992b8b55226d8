// ByteBuffer: a growable byte array that reports allocation failure instead
// of throwing, and is half the size of a std::vector (16 bytes), because
// every open connection carries two of them.
//
// Its storage is one malloc() block with headroom bytes in front of the
// data, so a caller can take the block (take()) and write a frame header
// in front of the bytes without copying them (wscore_session_take_message:
// an echo's reply to a reassembled message).

#ifndef WSCORE_BYTE_BUFFER_HPP
#define WSCORE_BYTE_BUFFER_HPP

#include <cstddef>
#include <cstdint>
#include <span>

namespace wscore {

class ByteBuffer {
public:
    // Sizes are 32-bit to keep the object small; nothing the core buffers
    // comes near 4 GiB (the session caps messages below max_size).
    static constexpr std::size_t max_size = UINT32_MAX;
    // Bytes of each block before data(); WSCORE_MESSAGE_HEADROOM.
    static constexpr std::size_t headroom = 34;

    ByteBuffer() noexcept = default;
    ~ByteBuffer() { release(); }
    ByteBuffer(const ByteBuffer &) = delete;
    ByteBuffer &operator=(const ByteBuffer &) = delete;
    ByteBuffer(ByteBuffer &&other) noexcept;
    ByteBuffer &operator=(ByteBuffer &&other) noexcept;

    std::uint8_t *data() noexcept { return data_; }
    const std::uint8_t *data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return capacity_; }
    bool empty() const noexcept { return size_ == 0; }
    std::span<const std::uint8_t> bytes() const noexcept
    {
        return {data_, size_};
    }

    // Grows the buffer by n uninitialised bytes and returns them, or
    // nullptr (buffer unchanged) when memory or max_size runs out.
    std::uint8_t *extend(std::size_t n) noexcept;
    bool append(std::span<const std::uint8_t> bytes) noexcept;

    // Room for n more bytes after the data, without counting them yet:
    // the caller writes up to n there (a read straight into the buffer),
    // then commit()s what it wrote. nullptr (buffer unchanged) when memory
    // or max_size runs out. The room stays valid until the buffer changes.
    std::uint8_t *reserve(std::size_t n) noexcept;
    void commit(std::size_t n) noexcept
    {
        size_ += static_cast<std::uint32_t>(n);
    }

    void truncate(std::size_t n) noexcept;      // keep the first n bytes
    void erase_front(std::size_t n) noexcept;   // drop the first n bytes
    void clear() noexcept { size_ = 0; }

    // Frees the storage when it grew beyond keep_capacity, so a connection
    // that once received a big message does not hold on to it while idle.
    void clear_and_trim(std::size_t keep_capacity) noexcept;
    void release() noexcept;

    // Hands the storage to the caller: the malloc() block, the bytes at
    // headroom from its start (nullptr when there is none). The buffer is
    // left empty, without storage.
    std::uint8_t *take() noexcept;

private:
    bool grow_to(std::size_t needed) noexcept;

    std::uint8_t *data_ = nullptr;
    std::uint32_t size_ = 0;
    std::uint32_t capacity_ = 0;
};

}  // namespace wscore

#endif
