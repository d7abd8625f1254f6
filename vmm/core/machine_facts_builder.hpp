// The machine facts platform devices read (ABI 1.5), taken from a plan:
// its RAM and vCPUs, and the kernel, initrd and command line the machine
// file gave (see vmm_machine_info for which image is which).
#pragma once

#include "core/machine_plan.hpp"
#include "plugin/machine_facts.hpp"

namespace vmm {

// The blobs point into `plan`'s loaded images: the plan must outlive them.
MachineFacts collect_machine_facts(const MachinePlan &plan);

} // namespace vmm
