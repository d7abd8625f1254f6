// The profiler's log-scale histogram: bucket boundaries and percentiles.
#include "../../plugins/profiler/exit_stats.hpp"
#include "../../plugins/profiler/log_histogram.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>
#include <algorithm>

using vmm::profiler::LogHistogram;

TEST_CASE("profiler histogram: buckets tile the uint64 range without gaps or overlaps", "[unit][profiler]")
{
    CHECK(LogHistogram::bucket_of(0) == 0);
    CHECK(LogHistogram::bucket_of(7) == 7);
    CHECK(LogHistogram::bucket_of(8) == 8);
    CHECK(LogHistogram::bucket_of(std::numeric_limits<uint64_t>::max()) == LogHistogram::kBuckets - 1);
    for (std::size_t b = 0; b + 1 < LogHistogram::kBuckets; ++b) {
        INFO("bucket " << b);
        REQUIRE(LogHistogram::upper_bound(b) + 1 == LogHistogram::lower_bound(b + 1));
        REQUIRE(LogHistogram::bucket_of(LogHistogram::lower_bound(b)) == b);
        REQUIRE(LogHistogram::bucket_of(LogHistogram::upper_bound(b)) == b);
        // A bucket spans at most an eighth of its lower bound (from 8 on).
        if (LogHistogram::lower_bound(b) >= 8)
            REQUIRE(LogHistogram::upper_bound(b) - LogHistogram::lower_bound(b) + 1 <=
                    LogHistogram::lower_bound(b) / 8);
    }
}

TEST_CASE("profiler histogram: exact for small values, within 12.5 % above for large ones", "[unit][profiler]")
{
    LogHistogram h;
    CHECK(h.percentile(0.5) == 0);
    CHECK(h.count() == 0);
    for (uint64_t v = 1; v <= 7; ++v)
        h.record(v);
    CHECK(h.percentile(0.5) == 4);
    CHECK(h.percentile(1.0) == 7);
    CHECK(h.min() == 1);
    CHECK(h.max() == 7);
    CHECK(h.mean() == Approx(4.0));

    // 1..100000 ns: the true p50, p90, p99 are 50000, 90000, 99000.
    LogHistogram big;
    for (uint64_t v = 1; v <= 100000; ++v)
        big.record(v);
    for (const auto &[q, exact] : {std::pair{0.5, 50000.0}, std::pair{0.9, 90000.0}, std::pair{0.99, 99000.0}}) {
        const double got = static_cast<double>(big.percentile(q));
        INFO("q " << q << " got " << got);
        CHECK(got >= exact);
        CHECK(got <= exact * 1.125);
    }
    CHECK(big.percentile(1.0) == 100000); // clipped to the largest value seen
    CHECK(big.sum() == 100000ull * 100001ull / 2);
}

TEST_CASE("profiler histogram: merging equals recording everything in one", "[unit][profiler]")
{
    std::mt19937_64 random(42);
    std::lognormal_distribution<double> latency(9.0, 1.0); // around 8 us
    LogHistogram a, b, all;
    for (int i = 0; i < 20000; ++i) {
        const auto v = static_cast<uint64_t>(latency(random));
        (i % 3 ? a : b).record(v);
        all.record(v);
    }
    a.merge(b);
    CHECK(a.count() == all.count());
    CHECK(a.sum() == all.sum());
    CHECK(a.min() == all.min());
    CHECK(a.max() == all.max());
    for (double q : {0.5, 0.9, 0.99})
        CHECK(a.percentile(q) == all.percentile(q));
}

TEST_CASE("profiler timeline: a run longer than its buckets doubles their width and keeps every exit",
          "[unit][profiler]")
{
    using vmm::profiler::Timeline;
    Timeline t;
    t.width = 1'000'000; // as if ticks were ns and buckets 1 ms
    t.record(0);
    t.record(999'999);          // still bucket 0 at 1 ms
    t.record(1'000'000);        // bucket 1
    CHECK(t.width == 1'000'000);
    CHECK(t.counts[0] == 2);
    CHECK(t.counts[1] == 1);
    // Past 512 ms: buckets merge in pairs until the time fits (2 ms, then 4 ms).
    t.record(1'500'000'000);
    CHECK(t.width == 4'000'000);
    CHECK(t.counts[0] == 3);                    // 0..4 ms
    CHECK(t.counts[1'500'000'000 / 4'000'000] == 1);
    uint64_t total = 0;
    for (const uint64_t c : t.counts)
        total += c;
    CHECK(total == 4);
}
