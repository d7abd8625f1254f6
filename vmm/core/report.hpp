// The JSON report of a run (`vmm --report FILE`): how it stopped, per vCPU
// its end, exit counts by reason and final registers, and the checks.
#pragma once

#include "config/machine_spec.hpp"
#include "core/checks.hpp"
#include "core/machine.hpp"

#include <filesystem>
#include <string>

namespace vmm {

class RunFacts;

// `facts`: what ran (version, plugins, swaps, wall time, host), when known.
std::string report_json(const MachineSpec &spec, const RunResult &result, const std::vector<CheckResult> &checks,
                        const RunFacts *facts = nullptr);

} // namespace vmm
