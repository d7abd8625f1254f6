// What a fatal signal can say about plugin code: which device and plugin a
// thread was calling into, and which loaded plugin an address belongs to.
//
// A fatal-signal handler may only use async-signal-safe code, so all of it
// is prepared beforehand: each plugin's load address range and file are
// recorded when it is loaded (a fixed table, appended to and never moved),
// and every call into a plugin marks its thread with a PluginCallMarker (a
// thread_local pointer to names that outlive the call). The marker also
// gives the thread an alternate signal stack, so that a plugin recursing
// until its stack overflows is still caught (a handler on the overflowed
// stack could not run).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace vmm {

// Records the address range of the shared object that holds `symbol` (any
// address inside the plugin, e.g. its descriptor entry point) under the
// plugin's name and file. Best effort: a full table is ignored.
void record_plugin_range(const std::string &name, const std::filesystem::path &file, const void *symbol);
// Once the descriptor is read: the plugin's own name for the range that
// holds `symbol` (recorded before under its file name).
void name_plugin_range(const void *symbol, const std::string &name);

// Gives the calling thread an alternate signal stack if it has none.
// Idempotent and cheap after the first call on a thread.
void ensure_alternate_signal_stack();

class PluginCallMarker {
public:
    // `device`, `plugin` and `call` must outlive the marker.
    PluginCallMarker(const char *device, const char *plugin, const char *call) noexcept;
    ~PluginCallMarker();
    PluginCallMarker(const PluginCallMarker &) = delete;
    PluginCallMarker &operator=(const PluginCallMarker &) = delete;

private:
    const char *device_;
    const char *plugin_;
    const char *call_;
    const PluginCallMarker *outer_;
    friend std::size_t describe_plugin_crash(char *, std::size_t, const void *) noexcept;
};

// Async-signal-safe. Writes into `out` (NUL-terminated, at most `size`
// bytes) which device and plugin the calling thread was in, or, failing a
// marker (a thread of the plugin's own, or its descriptor entry point),
// which plugin `pc` lies in: "device 'com1' (plugin 'serial',
// /x/vmm-serial.so, in read)" or "plugin 'serial' (/x/vmm-serial.so)".
// Returns 0 when the thread was in no plugin and `pc` is in none (vmm
// itself crashed, or a plugin's own thread crashed inside a library).
std::size_t describe_plugin_crash(char *out, std::size_t size, const void *pc) noexcept;

// Async-signal-safe: "FILE+0xOFFSET" for `pc` in a recorded plugin (what
// addr2line -e FILE takes), into `out`; 0 when it is in none.
std::size_t plugin_offset_of(char *out, std::size_t size, const void *pc) noexcept;

} // namespace vmm
