// `monitor ...` (qRcmd): what only a VMM can tell a debugger — VM exits as
// stop conditions, the devices and their ranges, a device's state size,
// exit counts per vCPU. `monitor help` lists them.
#pragma once

#include "debug/all_stop.hpp"

#include <string>

namespace vmm {
class Machine;
}

namespace vmm::gdb {

// Runs one monitor command (the VM is stopped); returns its output.
std::string run_monitor_command(const std::string &command, AllStop &stop, Machine &machine);

} // namespace vmm::gdb
