// log_histogram.hpp - a fixed-size histogram of 64-bit values (nanoseconds)
// with logarithmic buckets, for the profiler's percentiles.
//
// Values below 8 have a bucket each; above, every power of two is split into
// 8 equal sub-buckets, so a bucket spans at most 1/8 of its lower bound:
// a percentile read from it is at most 12.5 % above the true value (it is
// reported as the bucket's upper bound, clipped to the largest value seen).
// 496 buckets cover the whole uint64_t range; recording is a count-leading-
// zeros, two shifts and an increment: no allocation, no loop.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace vmm::profiler {

class LogHistogram {
public:
    static constexpr unsigned kSubBits = 3;
    static constexpr uint64_t kSub = uint64_t{1} << kSubBits; // sub-buckets per power of two
    static constexpr std::size_t kBuckets = (64 - kSubBits + 1) * kSub;

    static constexpr std::size_t bucket_of(uint64_t value) noexcept
    {
        if (value < kSub)
            return static_cast<std::size_t>(value);
        const unsigned exponent = 63u - static_cast<unsigned>(__builtin_clzll(value)); // >= kSubBits
        const uint64_t mantissa = (value >> (exponent - kSubBits)) & (kSub - 1);
        return ((exponent - kSubBits + 1) << kSubBits) + static_cast<std::size_t>(mantissa);
    }
    // Smallest value that falls into `bucket`.
    static constexpr uint64_t lower_bound(std::size_t bucket) noexcept
    {
        if (bucket < kSub)
            return bucket;
        const unsigned exponent = static_cast<unsigned>(bucket >> kSubBits) + kSubBits - 1;
        const uint64_t mantissa = bucket & (kSub - 1);
        return (uint64_t{1} << exponent) + (mantissa << (exponent - kSubBits));
    }
    // Largest value that falls into `bucket`.
    static constexpr uint64_t upper_bound(std::size_t bucket) noexcept
    {
        return bucket + 1 >= kBuckets ? std::numeric_limits<uint64_t>::max() : lower_bound(bucket + 1) - 1;
    }

    void record(uint64_t value) noexcept
    {
        ++counts_[bucket_of(value)];
        ++count_;
        sum_ += value;
        min_ = std::min(min_, value);
        max_ = std::max(max_, value);
    }

    void merge(const LogHistogram &other) noexcept
    {
        for (std::size_t i = 0; i < kBuckets; ++i)
            counts_[i] += other.counts_[i];
        count_ += other.count_;
        sum_ += other.sum_;
        min_ = std::min(min_, other.min_);
        max_ = std::max(max_, other.max_);
    }

    uint64_t count() const noexcept { return count_; }
    // How many values fell into `bucket` (< kBuckets): the HTML report's bars.
    uint64_t bucket_count(std::size_t bucket) const noexcept { return counts_[bucket]; }
    uint64_t sum() const noexcept { return sum_; }
    uint64_t min() const noexcept { return count_ ? min_ : 0; }
    uint64_t max() const noexcept { return max_; }
    double mean() const noexcept { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }

    // The value below which a fraction `q` (0..1] of the recorded values
    // lie: the upper bound of the bucket holding the ceil(q * count)-th
    // smallest value, clipped to [min, max]. 0 when empty.
    uint64_t percentile(double q) const noexcept
    {
        if (count_ == 0)
            return 0;
        q = std::clamp(q, 0.0, 1.0);
        uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_));
        if (static_cast<double>(rank) < q * static_cast<double>(count_))
            ++rank; // ceil
        rank = std::clamp<uint64_t>(rank, 1, count_);
        uint64_t seen = 0;
        for (std::size_t i = 0; i < kBuckets; ++i) {
            seen += counts_[i];
            if (seen >= rank)
                return std::clamp(upper_bound(i), min(), max_);
        }
        return max_;
    }

private:
    std::array<uint64_t, kBuckets> counts_{};
    uint64_t count_ = 0;
    uint64_t sum_ = 0;
    uint64_t min_ = std::numeric_limits<uint64_t>::max();
    uint64_t max_ = 0;
};

} // namespace vmm::profiler
