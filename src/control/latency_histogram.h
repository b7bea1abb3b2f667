#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace meshgate::control {

// Durations in microseconds, counted in power-of-two buckets (1 µs … ~17 s): cheap to record,
// enough to read p50/p99 within a factor of two, and a Prometheus histogram as it is.
class LatencyHistogram {
public:
    static constexpr size_t buckets = 25;  // ≤ 2^0 µs … ≤ 2^24 µs, then +Inf

    void record(uint64_t microseconds) {
        size_t b = 0;
        while (b < buckets && microseconds > (uint64_t{1} << b)) ++b;
        ++counts_[b];
        ++count_;
        sum_ += microseconds;
        if (microseconds > max_) max_ = microseconds;
    }
    uint64_t count() const { return count_; }
    uint64_t sum() const { return sum_; }
    uint64_t max() const { return max_; }
    // The upper bound (µs) of the bucket holding quantile q (0..1); 0 when empty.
    uint64_t quantile(double q) const {
        if (count_ == 0) return 0;
        const auto rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
        uint64_t seen = 0;
        for (size_t b = 0; b <= buckets; ++b) {
            seen += counts_[b];
            if (seen >= rank) return b < buckets ? uint64_t{1} << b : max_;
        }
        return max_;
    }
    // Cumulative count of bucket b (b == buckets: all).
    uint64_t cumulative(size_t b) const {
        uint64_t n = 0;
        for (size_t i = 0; i <= b && i <= buckets; ++i) n += counts_[i];
        return n;
    }

private:
    std::array<uint64_t, buckets + 1> counts_{};
    uint64_t count_ = 0, sum_ = 0, max_ = 0;
};

}  // namespace meshgate::control
