// profiler benchmark: what an exit observer costs per VM exit, measured
// side by side in one run against the same machine without it.
//
// Every configuration runs the pio-loop guest (N `out` instructions to the
// serial plugin's scratch register, then HLT) in a whole `vmm` process,
// twice: with N_large and N_large / 10 writes; the difference divided by
// the difference in N cancels start-up and shutdown. Configurations:
//   baseline          the serial plugin only: no observer, so the core reads
//                     no clock and no register at an exit
//   profiler          + the profiler, counting and timing (no files)
//   profiler + trace  + the profiler writing a Chrome trace of every exit
//                     (trace_limit above N: each exit recorded and written)
//   tracer            + the tracer, capacity 1000 (the ring's write per exit;
//                     the file is 1000 lines in both sizes)
// The runs are interleaved so that drift on this shared machine hits all
// configurations alike; the figures are medians. Only the differences
// within one run mean anything.
//
// The end-to-end difference also holds what the core does for any observer
// (two clock reads, the registers and CS from kvm_run at every exit) and
// the noise of nested KVM, so the benchmark then times the plugins' own
// observe_exit alone: it loads each .so, makes an instance with a minimal
// host table, and calls it in a loop with exits spread over two vCPUs and a
// few ports and MMIO addresses, as a guest would produce them.
//
// Usage: bench-profiler [N_large] [repetitions]
#include "bench_support.hpp"

#include <vmm/plugin_abi.h>

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

using bench::Clock;
using bench::median;

struct Config {
    const char *name;
    std::string devices; // appended to the machine file; @DIR@ is the run's directory
};

std::string replace_all(std::string text, const std::string &from, const std::string &to)
{
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

// Seconds for a whole `vmm` process running `writes` exits.
double vmm_run(const Config &config, uint64_t writes)
{
    const bench::ScratchDir dir("profiler");
    const std::string machine = dir.path() + "/pio-loop.toml";
    std::ofstream(machine) << bench::pio_loop_machine(writes) << replace_all(config.devices, "@DIR@", dir.path());
    const bench::VmmRun run = bench::time_vmm(machine);
    if (!run.ok()) {
        std::fprintf(stderr, "vmm failed in configuration '%s' (status %d)\n", config.name, run.wait_status);
        std::exit(1);
    }
    return run.seconds;
}

// ---- the plugins' observe_exit alone, in this process ----

void quiet_log(vmm_host_context *, uint32_t, const char *) {}
uint32_t two_vcpus(vmm_host_context *) { return 2; }
int32_t no_vcpu(vmm_host_context *) { return -1; }

// Nanoseconds per observe_exit call of `plugin`, created with `settings`.
double observe_ns(const char *plugin, std::vector<vmm_setting> settings, uint64_t calls)
{
    const std::string file = std::string(VMM_BENCH_PLUGIN_DIR) + "/vmm-" + plugin + ".so";
    void *library = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        std::fprintf(stderr, "dlopen %s: %s\n", file.c_str(), ::dlerror());
        std::exit(1);
    }
    const auto describe = reinterpret_cast<vmm_plugin_describe_fn>(::dlsym(library, VMM_PLUGIN_DESCRIBE_SYMBOL));
    const vmm_plugin_descriptor *d = describe ? describe() : nullptr;
    if (d == nullptr || d->observe_exit == nullptr) {
        std::fprintf(stderr, "%s: not an exit observer\n", file.c_str());
        std::exit(1);
    }
    vmm_host_api api{};
    api.struct_size = sizeof api;
    api.abi_version = VMM_ABI_VERSION;
    api.log = &quiet_log;
    api.vcpu_count = &two_vcpus;
    api.current_vcpu = &no_vcpu;
    vmm_device_create_info info{};
    info.struct_size = sizeof info;
    info.instance_name = plugin;
    info.host_api = &api;
    info.host = reinterpret_cast<vmm_host_context *>(&api); // never dereferenced by the plugin
    info.settings = settings.data();
    info.setting_count = static_cast<uint32_t>(settings.size());
    void *instance = nullptr;
    if (d->create(&info, &instance) != VMM_OK) {
        std::fprintf(stderr, "%s: create failed\n", plugin);
        std::exit(1);
    }
    static const char *const kDevices[] = {"com1", "regs", nullptr};
    vmm_exit_event event{};
    event.struct_size = sizeof event;
    event.count = 1;
    event.size = 1;
    event.cs_selector = 8;
    event.reason_name = "IO";
    const auto start = Clock::now();
    for (uint64_t i = 0; i < calls; ++i) {
        event.vcpu = static_cast<uint32_t>(i & 1);
        const bool mmio = (i & 7) == 7;
        event.reason = mmio ? 6 : 2; // KVM_EXIT_MMIO, KVM_EXIT_IO
        event.reason_name = mmio ? "MMIO" : "IO";
        event.space = mmio ? VMM_SPACE_MMIO : VMM_SPACE_PIO;
        event.address = mmio ? 0xd0000000 + (i & 0x30) : 0x3f8 + (i & 3);
        event.device = kDevices[(i >> 1) % 3];
        event.is_write = static_cast<uint32_t>(i & 1);
        event.data = i;
        event.rip = 0x1000 + (i & 15);
        event.guest_ns = 9000 + (i * 7919) % 4000;
        event.handling_ns = 200 + (i * 104729) % 300;
        d->observe_exit(instance, &event);
    }
    const double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count() / static_cast<double>(calls);
    d->destroy(instance); // writes its files, outside the timing
    ::dlclose(library);
    return ns;
}

vmm_setting string_setting(const char *key, const std::string &value)
{
    vmm_setting s{};
    s.struct_size = sizeof s;
    s.type = VMM_VALUE_STRING;
    s.key = key;
    s.string_value = value.c_str();
    s.string_length = value.size();
    return s;
}

vmm_setting int_setting(const char *key, int64_t value)
{
    vmm_setting s{};
    s.struct_size = sizeof s;
    s.type = VMM_VALUE_INT;
    s.key = key;
    s.int_value = value;
    return s;
}

vmm_setting bool_setting(const char *key, bool value)
{
    vmm_setting s{};
    s.struct_size = sizeof s;
    s.type = VMM_VALUE_BOOL;
    s.key = key;
    s.int_value = value ? 1 : 0;
    return s;
}

} // namespace

int main(int argc, char **argv)
{
    const uint64_t large = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
    const int repetitions = argc > 2 ? std::atoi(argv[2]) : 5;
    const uint64_t small = large / 10;
    if (large < 10 || repetitions < 1) {
        std::fprintf(stderr, "usage: bench-profiler [N_large >= 10] [repetitions >= 1]\n");
        return 2;
    }

    const std::vector<Config> configs = {
        {"baseline (serial only)", ""},
        {"profiler", "[[device]]\nname = \"prof\"\nplugin = \"profiler\"\n"},
        {"profiler + trace", "[[device]]\nname = \"prof\"\nplugin = \"profiler\"\nsettings = { trace = "
                             "\"@DIR@/trace.json\", trace_limit = " +
                                 std::to_string(large + 10) + " }\n"},
        {"tracer (capacity 1000)", "[[device]]\nname = \"tracer\"\nplugin = \"tracer\"\nsettings = { file = "
                                   "\"@DIR@/trace.txt\", capacity = 1000 }\n"},
    };
    std::vector<std::vector<double>> small_runs(configs.size()), large_runs(configs.size());
    for (int i = 0; i < repetitions; ++i) {
        for (std::size_t c = 0; c < configs.size(); ++c) {
            small_runs[c].push_back(vmm_run(configs[c], small));
            large_runs[c].push_back(vmm_run(configs[c], large));
        }
    }

    const double n = static_cast<double>(large - small);
    std::vector<double> per_exit;
    for (std::size_t c = 0; c < configs.size(); ++c)
        per_exit.push_back((median(large_runs[c]) - median(small_runs[c])) / n);

    std::printf("port-write exits through vmm, %lu vs %lu writes, median of %d runs each\n", (unsigned long)large,
                (unsigned long)small, repetitions);
    std::printf("%-26s %12s %10s %12s %10s\n", "", "exits/s", "us/exit", "+us/exit", "ratio");
    for (std::size_t c = 0; c < configs.size(); ++c)
        std::printf("%-26s %12.0f %10.3f %12.3f %10.3f\n", configs[c].name, 1.0 / per_exit[c], per_exit[c] * 1e6,
                    (per_exit[c] - per_exit[0]) * 1e6, per_exit[c] / per_exit[0]);
    std::printf("(+us/exit and ratio: against the baseline in the same run)\n");

    // The plugins' own share: observe_exit called directly, median of 5.
    // Their files go to /dev/null: they are written by destroy, untimed.
    const uint64_t calls = 2000000;
    const std::string trace_file = "/dev/null";
    const std::string tracer_file = "/dev/null";
    struct Direct {
        const char *name;
        const char *plugin;
        std::vector<vmm_setting> settings;
    };
    const std::vector<Direct> direct = {
        {"profiler", "profiler", {bool_setting("summary", false)}},
        {"profiler + trace", "profiler",
         {bool_setting("summary", false), string_setting("trace", trace_file),
          int_setting("trace_limit", static_cast<int64_t>(calls))}},
        {"tracer (capacity 1000)", "tracer", {string_setting("file", tracer_file), int_setting("capacity", 1000)}},
        {"tracer (capacity 65536)", "tracer", {string_setting("file", tracer_file)}},
    };
    std::printf("\nobserve_exit alone, %lu calls (2 vCPUs, 4 ports, 4 MMIO addresses), median of 5\n",
                (unsigned long)calls);
    std::printf("%-26s %12s\n", "", "ns/exit");
    for (const Direct &d : direct) {
        std::vector<double> ns;
        for (int i = 0; i < 5; ++i)
            ns.push_back(observe_ns(d.plugin, d.settings, calls));
        std::printf("%-26s %12.1f\n", d.name, median(ns));
    }
    return 0;
}
