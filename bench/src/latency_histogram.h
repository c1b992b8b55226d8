// Latency percentiles over millions of samples in constant memory: a
// log-linear histogram (128 linear steps per power of two, so any reported
// percentile is within 1% of the true sample), in the spirit of HdrHistogram.
#pragma once

#include <array>
#include <cstdint>

namespace wsload {

class LatencyHistogram {
public:
    void record(std::uint64_t nanoseconds);
    void clear();
    std::uint64_t count() const { return count_; }
    // Upper bound of the bucket holding the q-th quantile (0 < q <= 1), in ns.
    std::uint64_t quantile_ns(double q) const;
    std::uint64_t max_ns() const { return max_; }

private:
    static constexpr int sub_bits = 7;
    static constexpr int sub_count = 1 << sub_bits;
    static constexpr int bucket_count = (64 - sub_bits + 1) * sub_count;

    static int index_of(std::uint64_t v);
    static std::uint64_t upper_bound_of(int index);

    std::array<std::uint64_t, bucket_count> buckets_{};
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
};

}  // namespace wsload
