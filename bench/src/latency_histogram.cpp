#include "latency_histogram.h"

#include <bit>
#include <cmath>

namespace wsload {

int LatencyHistogram::index_of(std::uint64_t v) {
    if (v < sub_count) return static_cast<int>(v);
    const int top = 63 - std::countl_zero(v);  // >= sub_bits
    const int shift = top - sub_bits;
    const int sub = static_cast<int>((v >> shift) & (sub_count - 1));
    return (shift + 1) * sub_count + sub;
}

std::uint64_t LatencyHistogram::upper_bound_of(int index) {
    if (index < sub_count) return static_cast<std::uint64_t>(index);
    const int shift = index / sub_count - 1;
    const std::uint64_t sub = static_cast<std::uint64_t>(index % sub_count);
    return ((std::uint64_t{sub_count} | sub) << shift) + ((std::uint64_t{1} << shift) - 1);
}

void LatencyHistogram::record(std::uint64_t nanoseconds) {
    ++buckets_[static_cast<std::size_t>(index_of(nanoseconds))];
    ++count_;
    if (nanoseconds > max_) max_ = nanoseconds;
}

void LatencyHistogram::clear() {
    buckets_.fill(0);
    count_ = 0;
    max_ = 0;
}

std::uint64_t LatencyHistogram::quantile_ns(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    std::uint64_t seen = 0;
    for (int i = 0; i < bucket_count; ++i) {
        seen += buckets_[static_cast<std::size_t>(i)];
        if (seen >= rank && seen > 0) {
            const auto bound = upper_bound_of(i);
            return bound < max_ ? bound : max_;
        }
    }
    return max_;
}

}  // namespace wsload
