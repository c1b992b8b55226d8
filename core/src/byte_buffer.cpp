#include "byte_buffer.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace wscore {

ByteBuffer::ByteBuffer(ByteBuffer &&other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0))
{
}

ByteBuffer &ByteBuffer::operator=(ByteBuffer &&other) noexcept
{
    if (this != &other) {
        release();
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
}

// Capacity for needed bytes in all.
bool ByteBuffer::grow_to(std::size_t needed) noexcept
{
    if (needed <= capacity_) {
        return true;
    }
    // Doubling keeps appends amortised O(1); the floor avoids a string
    // of tiny reallocations for the first small frames.
    std::size_t grown = std::max<std::size_t>(
        {needed, std::size_t{capacity_} * 2, std::size_t{256}});
    grown = std::min(grown, max_size);
    auto *bigger = static_cast<std::uint8_t *>(std::realloc(
        data_ != nullptr ? data_ - headroom : nullptr, headroom + grown));
    if (bigger == nullptr) {
        return false;
    }
    data_ = bigger + headroom;
    capacity_ = static_cast<std::uint32_t>(grown);
    return true;
}

std::uint8_t *ByteBuffer::extend(std::size_t n) noexcept
{
    if (n > max_size - size_) {
        return nullptr;
    }
    const std::size_t needed = size_ + n;
    if (needed > capacity_ && !grow_to(needed)) {
        return nullptr;
    }
    std::uint8_t *tail = data_ + size_;
    size_ = static_cast<std::uint32_t>(needed);
    return tail;
}

std::uint8_t *ByteBuffer::reserve(std::size_t n) noexcept
{
    if (n > max_size - size_ || !grow_to(size_ + n)) {
        return nullptr;
    }
    return data_ + size_;
}

bool ByteBuffer::append(std::span<const std::uint8_t> bytes) noexcept
{
    std::uint8_t *tail = extend(bytes.size());
    if (tail == nullptr) {
        return false;
    }
    if (!bytes.empty()) {
        std::memcpy(tail, bytes.data(), bytes.size());
    }
    return true;
}

void ByteBuffer::truncate(std::size_t n) noexcept
{
    if (n < size_) {
        size_ = static_cast<std::uint32_t>(n);
    }
}

void ByteBuffer::erase_front(std::size_t n) noexcept
{
    if (n >= size_) {
        size_ = 0;
        return;
    }
    std::memmove(data_, data_ + n, size_ - n);
    size_ -= static_cast<std::uint32_t>(n);
}

void ByteBuffer::clear_and_trim(std::size_t keep_capacity) noexcept
{
    size_ = 0;
    if (capacity_ > keep_capacity) {
        release();
    }
}

void ByteBuffer::release() noexcept
{
    std::free(take());
}

std::uint8_t *ByteBuffer::take() noexcept
{
    std::uint8_t *block = data_ != nullptr ? data_ - headroom : nullptr;
    data_ = nullptr;
    size_ = 0;
    capacity_ = 0;
    return block;
}

}  // namespace wscore
