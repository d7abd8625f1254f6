// [debug]: where a GDB stub listens (`gdb = "127.0.0.1:1234"` or a UNIX
// socket path) and whether the guest waits for the debugger (`wait`).
// Whether the address can be listened on is found out when the stub opens
// it, before the VM is created.

#include "config/machine_parser.hpp"

namespace vmm {

void MachineParser::parse_debug(TableReader &top)
{
    const toml::table *table = top.subtable("debug");
    if (table == nullptr)
        return;
    TableReader debug(*table, "[debug]", diagnostics_);
    if (auto gdb = debug.string("gdb")) {
        if (gdb->empty())
            diagnostics_.error(debug.where("gdb"), "[debug]: gdb must be an address (HOST:PORT or a socket path)");
        else
            spec_.debug.gdb = *gdb;
        spec_.debug.gdb_where = debug.where("gdb");
    }
    if (auto wait = debug.boolean("wait")) {
        spec_.debug.wait = *wait;
        if (*wait && !debug.has("gdb"))
            diagnostics_.error(debug.where("wait"), "[debug]: wait = true needs gdb = ADDRESS");
    }
    debug.reject_unknown_keys();
}

} // namespace vmm
