// A machine description, parsed and checked: what the TOML file said, in
// plain types, with the location of everything a later error may point at.
#pragma once

#include "config/isolation_options.hpp"

#include "bus/address_space.hpp"
#include "kvm/cpuid_spec.hpp"
#include "support/source_location.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace vmm {

// The largest RAM we map: it starts at 0 and stays below the 32-bit I/O hole.
inline constexpr uint64_t kMaxMemorySize = 3ull << 30;
inline constexpr uint32_t kMaxVcpus = 64;

enum class CpuMode {
    reset,     // the architectural reset state, untouched (CS:IP = f000:fff0)
    real,      // 16-bit real mode, CS base 0
    protected32, // flat 32-bit protected mode, no paging
    long64,    // 64-bit long mode on identity-mapped 2 MiB pages
    user64,    // the same entered at CPL 3, exceptions caught by the VMM (docs/user-mode.md)
};
const char *cpu_mode_name(CpuMode mode);

enum class ImageType { ram, rom };
enum class ImageFormat {
    automatic, // elf if the file starts with the ELF magic, else flat
    flat,
    elf,
    multiboot, // an ELF (or a.out-kludge) kernel with a multiboot v1 header
};

struct RegisterSetting {
    std::string name; // "rax", "rflags", ...
    uint64_t value = 0;
    SourceLocation where;
};

inline constexpr uint64_t kDefaultStackSize = 16 * 1024;

struct CpuSpec {
    CpuMode mode = CpuMode::real;
    bool mode_given = false;
    SourceLocation mode_where;
    std::optional<uint64_t> entry;
    SourceLocation entry_where;
    std::vector<RegisterSetting> registers;
    // Protected and long mode: where the GDT and page tables go.
    std::optional<uint64_t> page_tables;
    SourceLocation page_tables_where;
    // Several vCPUs: each gets its own stack and its index in a register.
    uint64_t stack_size = kDefaultStackSize;
    std::string index_register = "rdi";
    CpuidSpec cpuid;
    SourceLocation where;

    const RegisterSetting *find_register(const std::string &name) const
    {
        for (const RegisterSetting &r : registers) {
            if (r.name == name)
                return &r;
        }
        return nullptr;
    }
};

struct ModuleSpec {
    std::filesystem::path file; // resolved, existing
    std::string file_as_written;
    std::string cmdline;
    SourceLocation where;
};

struct ImageSpec {
    std::filesystem::path file; // resolved, existing
    std::string file_as_written;
    std::optional<uint64_t> address;
    ImageType type = ImageType::ram;
    ImageFormat format = ImageFormat::flat;
    std::optional<uint64_t> entry;
    std::string cmdline;             // multiboot only
    std::vector<ModuleSpec> modules; // multiboot only
    SourceLocation where;
    SourceLocation file_where;
    SourceLocation address_where;
};

using SettingValue = std::variant<bool, int64_t, double, std::string>;
const char *setting_type_name(const SettingValue &value);

struct Setting {
    std::string key;
    SettingValue value;
    SourceLocation where;
};

struct RangeSpec {
    Space space = Space::pio;
    uint64_t base = 0;
    uint64_t size = 0;
    SourceLocation where;
};

struct DeviceSpec {
    std::string name;
    std::string plugin;
    std::vector<RangeSpec> ranges; // empty: the plugin's default ranges
    std::vector<Setting> settings;
    // Interrupt lines from `irq = N` or `irqs = [N, ...]`, in the device's
    // order; unset: the plugin's default lines.
    std::optional<std::vector<uint32_t>> irqs;
    std::string irqs_key; // "irq" or "irqs", as written: messages quote it
    SourceLocation irqs_where;
    SourceLocation where;
    SourceLocation plugin_where;
    // `isolate = true`: the plugin runs in a process of its own
    // (docs/isolation.md); unset: [machine] isolate. `on_crash`: what its
    // death does.
    std::optional<bool> isolate;
    SourceLocation isolate_where;
    OnCrash on_crash = OnCrash::stop;
    // `log = "debug"`: this device's log level (a logging::parse_level
    // name, checked); empty: the global one. --log-level NAME=... wins.
    std::string log_level;
};

// A value to verify once the VM has stopped.
struct CheckSpec {
    enum class Kind { register_value, memory_value } kind = Kind::register_value;
    std::string register_name; // register checks
    uint32_t vcpu = 0;
    uint64_t address = 0;      // memory checks
    uint32_t width = 0;        // bytes: 1, 2, 4 or 8
    uint64_t expected = 0;
    SourceLocation where;
};

// [debug]: a GDB stub (docs/gdb-stub.md); --gdb / --gdb-wait override it.
struct DebugSpec {
    std::optional<std::string> gdb; // the address to listen on
    SourceLocation gdb_where;
    bool wait = false; // the guest waits for a debugger to continue it
};

struct MachineSpec {
    bool isolate = false; // [machine] isolate: every device's default
    std::filesystem::path file;
    std::string name;
    uint64_t memory_size = 0;
    SourceLocation memory_where;
    uint32_t vcpus = 1;
    bool strict = false; // unhandled I/O is fatal instead of logged
    bool irqchip = false; // in-kernel LAPIC/IOAPIC/PIC; APs wait for SIPI
    bool irqchip_given = false; // the file said irqchip = ... explicitly
    SourceLocation irqchip_where;
    bool pit = false; // in-kernel i8254 PIT (KVM_CREATE_PIT2) on ports 0x40-0x43, line 0; needs irqchip
    SourceLocation pit_where;
    bool acpi = false; // ACPI tables in the BIOS area (boot/acpi_tables.hpp); needs an acpi-pm device
    SourceLocation acpi_where;
    CpuSpec cpu;
    std::vector<ImageSpec> images;
    std::vector<DeviceSpec> devices;
    std::vector<CheckSpec> checks;
    DebugSpec debug;
};

} // namespace vmm
