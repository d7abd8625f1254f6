// tracer: the guest's CS:RIP and the reason of every VM exit, kept in a
// bounded ring buffer (the oldest overwritten) and written to a file, one
// line per exit, when the VM stops.
//
// State: usable (tested on a guest whose OUT instructions are found by
//        their symbols).
// Missing: filters (by vCPU, reason or address), a live stream instead of
//          a dump at the end, a binary format for very long traces, the
//          guest's other registers.
// Documentation: the chapter-2 experiment of seed 003 ("捕获虚拟机下一条指令
//          地址信息"), which printed `GUEST CS:RIP=%04x:0x%016lx` from KVM's
//          vmx_handle_exit; here the same line comes from the VMM, from the
//          registers KVM reports at each exit to user space (ABI 1.2
//          observe_exit: vmm_exit_event.cs_selector and .rip).
//
// A line:
//   GUEST CS:RIP=0008:0x0000000000100123 vcpu=0 seq=4 reason=IO port=0x600 out size=1 data=0x11
//   GUEST CS:RIP=0008:0x0000000000100140 vcpu=0 seq=9 reason=MMIO mmio=0xd0000000 write size=4 data=0x12345678
//   GUEST CS:RIP=0008:0x0000000000100151 vcpu=1 seq=12 reason=HLT
// seq numbers every exit the tracer saw, from 0, across all vCPUs in the
// order the tracer was called; the file holds the last `capacity` of them,
// oldest first, after two header lines starting with '#'.
#include <vmm/sdk.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

namespace {

constexpr int64_t kMaxCapacity = int64_t{1} << 24; // 16 Mi exits, 768 MiB of records
constexpr std::size_t kReasonSlots = 64;

constexpr std::array kKeys = {
    vmm::sdk::path_key("file",
                       "where to write the trace when the VM stops (created or truncated at start); "
                       "default: standard output",
                       VMM_KEY_PATH_WRITE),
    vmm::sdk::with_range(vmm::sdk::with_default(vmm::sdk::int_key("capacity", "exits kept: the last this many"),
                                                "65536"),
                         1, kMaxCapacity),
};

struct Record {
    uint64_t seq;
    uint64_t rip;
    uint64_t address;
    uint64_t data;
    uint32_t vcpu;
    uint32_t reason;
    uint32_t size;
    uint16_t cs;
    uint8_t space;
    uint8_t is_write;
};

class Tracer final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo info{"tracer", "1.0.0",
                                  "records CS:RIP and reason of every VM exit in a ring buffer, written to a file "
                                  "when the VM stops",
                                  kKeys, {}};
        info.thread_safe = true; // one mutex around the ring
        info.observes_exits = true;
        return info;
    }

    explicit Tracer(const vmm::sdk::DeviceContext &context) : Device(context)
    {
        if (!context.regions().empty())
            throw vmm::sdk::ConfigError("occupies no address range: remove its pio/mmio entries");
        // No file unless asked for: a bundled machine run from any directory
        // leaves nothing behind, and the trace goes to standard output.
        path_ = context.settings().get_string("file", "");
        const int64_t capacity = context.settings().get_int(kKeys[1]).value();
        if (capacity < 1 || capacity > kMaxCapacity)
            throw vmm::sdk::ConfigError("capacity must be between 1 and " + std::to_string(kMaxCapacity));
        capacity_ = static_cast<uint64_t>(capacity);
        if (!path_.empty())
            file_ = vmm::sdk::open_output_file(path_, "file");
        ring_ = std::unique_ptr<Record[]>(new Record[capacity_]); // uninitialised: pages touched as it fills
    }

    ~Tracer() override
    {
        try {
            write();
        } catch (...) {
            host().error("could not write the trace to %s", path_.c_str());
        }
    }

    void observe_exit(const vmm_exit_event &event) override
    {
        std::lock_guard lock(mutex_);
        const uint64_t seq = next_++;
        Record &r = ring_[seq % capacity_];
        r.seq = seq;
        r.rip = event.rip;
        r.address = event.address;
        r.data = event.data;
        r.vcpu = event.vcpu;
        r.reason = event.reason;
        r.size = event.size;
        r.cs = event.cs_selector;
        r.space = static_cast<uint8_t>(event.space);
        r.is_write = static_cast<uint8_t>(event.is_write != 0);
        const std::size_t slot = std::min<std::size_t>(event.reason, kReasonSlots - 1);
        if (names_[slot][0] == '\0')
            std::snprintf(names_[slot].data(), names_[slot].size(), "%s",
                          slot == kReasonSlots - 1 ? "OTHER" : event.reason_name ? event.reason_name : "?");
    }

private:
    void write()
    {
        std::lock_guard lock(mutex_);
        FILE *f = path_.empty() ? stdout : file_.get();
        const uint64_t kept = std::min(next_, capacity_);
        const uint64_t overwritten = next_ - kept;
        std::fprintf(f, "# vmm tracer: %" PRIu64 " exits, the last %" PRIu64 " below (capacity %" PRIu64 "), %" PRIu64
                        " overwritten\n",
                     next_, kept, capacity_, overwritten);
        std::fprintf(f, "# GUEST CS:RIP=<cs>:<rip> vcpu=<index> seq=<n> reason=<KVM exit> [port|mmio=<address> "
                        "<direction> size=<bytes> data=<value>]\n");
        for (uint64_t seq = overwritten; seq < next_; ++seq) {
            const Record &r = ring_[seq % capacity_];
            std::fprintf(f, "GUEST CS:RIP=%04x:0x%016" PRIx64 " vcpu=%u seq=%" PRIu64 " reason=%s", r.cs, r.rip,
                         r.vcpu, r.seq, names_[std::min<std::size_t>(r.reason, kReasonSlots - 1)].data());
            if (r.space == VMM_SPACE_PIO)
                std::fprintf(f, " port=0x%" PRIx64 " %s size=%u data=0x%" PRIx64, r.address, r.is_write ? "out" : "in",
                             r.size, r.data);
            else if (r.space == VMM_SPACE_MMIO)
                std::fprintf(f, " mmio=0x%" PRIx64 " %s size=%u data=0x%" PRIx64, r.address,
                             r.is_write ? "write" : "read", r.size, r.data);
            std::fputc('\n', f);
        }
        const bool ok = std::fflush(f) == 0 && !std::ferror(f);
        if (!ok)
            host().error("could not write %s: %s", path_.empty() ? "standard output" : path_.c_str(),
                         std::strerror(errno));
        else
            host().info("%" PRIu64 " exits traced; the last %" PRIu64 " written to %s, %" PRIu64
                        " older ones overwritten (capacity %" PRIu64 ")",
                        next_, kept, path_.empty() ? "standard output" : path_.c_str(), overwritten, capacity_);
    }

    std::string path_;
    vmm::sdk::OutputFile file_;
    uint64_t capacity_ = 0;

    std::mutex mutex_;
    std::unique_ptr<Record[]> ring_;
    uint64_t next_ = 0;
    std::array<std::array<char, 32>, kReasonSlots> names_{};
};

} // namespace

VMM_PLUGIN(Tracer)
