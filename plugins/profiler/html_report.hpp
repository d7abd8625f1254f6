// html_report.hpp - the profiler's picture of a run (`html = "profile.html"`):
// one self-contained page, no network needed to view it. The figures go in
// as JSON; a small inline script draws them as inline SVG charts: exits over
// time per vCPU, exits by reason and by device, and the latency histograms
// (all exits, and per reason, handling time in the VMM).
#pragma once

#include "exit_stats.hpp"

#include <cstdio>
#include <string>

namespace vmm::profiler {

// The page for `sum`; `seconds` is how long the profiler ran, and
// `ns_per_tick` converts the timeline's ticks to time.
std::string html_report(const Summary &sum, double seconds, double ns_per_tick, const std::string &title);

} // namespace vmm::profiler
