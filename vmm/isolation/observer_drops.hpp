// Exit events that isolated observers never received (their ring was full:
// the child did not keep up, or was stopped), per device, for the report.
// The counters live as long as the process, so a device destroyed before the
// report is written (or swapped, or restarted) still counts.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace vmm {

// The counter of device `device` (made at 0 on first use; the same one
// again for the same name).
std::shared_ptr<std::atomic<uint64_t>> observer_drop_counter(const std::string &device);

// Every isolated observer's count so far, by device name (empty when none ran).
std::map<std::string, uint64_t> observer_drops();

} // namespace vmm
