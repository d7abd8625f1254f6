#include "plugin/plugin_crash.hpp"

#include "support/signal_safe_text.hpp"

#include <dlfcn.h>
#include <link.h>
#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <cstring>
#include <mutex>

namespace vmm {
namespace {

struct PluginRange {
    uintptr_t base = 0; // the load bias: file offsets are relative to it
    uintptr_t begin = 0;
    uintptr_t end = 0;
    char name[128] = {};
    char file[PATH_MAX] = {};
};

// Appended to under a mutex, published by `g_range_count` (release); the
// handler reads only entries below the count it loads (acquire). Newest
// last: an address range a later plugin reuses is found as the later one.
constexpr std::size_t kMaxRanges = 128;
PluginRange g_ranges[kMaxRanges];
std::atomic<std::size_t> g_range_count{0};
std::mutex g_ranges_mutex;

thread_local const PluginCallMarker *t_marker = nullptr;

void copy_text(char *to, std::size_t size, const std::string &from)
{
    const std::size_t n = std::min(size - 1, from.size());
    std::memcpy(to, from.data(), n);
    to[n] = '\0';
}

const PluginRange *range_of(uintptr_t address) noexcept
{
    for (std::size_t i = g_range_count.load(std::memory_order_acquire); i-- > 0;)
        if (address >= g_ranges[i].begin && address < g_ranges[i].end)
            return &g_ranges[i];
    return nullptr;
}

const PluginRange *range_named(const char *name) noexcept
{
    for (std::size_t i = g_range_count.load(std::memory_order_acquire); i-- > 0;)
        if (std::strcmp(g_ranges[i].name, name) == 0)
            return &g_ranges[i];
    return nullptr;
}

// Frees a thread's alternate stack when the thread ends.
struct AlternateStack {
    void *base = nullptr;
    std::size_t size = 0;
    ~AlternateStack()
    {
        if (base == nullptr)
            return;
        stack_t off{};
        off.ss_flags = SS_DISABLE;
        ::sigaltstack(&off, nullptr);
        ::munmap(base, size);
    }
};
thread_local AlternateStack t_alternate_stack;
thread_local bool t_alternate_stack_checked = false;

} // namespace

void record_plugin_range(const std::string &name, const std::filesystem::path &file, const void *symbol)
{
    Dl_info info{};
    if (symbol == nullptr || ::dladdr(symbol, &info) == 0 || info.dli_fbase == nullptr)
        return;
    struct Search {
        uintptr_t base;
        uintptr_t bias = 0, begin = UINTPTR_MAX, end = 0;
    } search{reinterpret_cast<uintptr_t>(info.dli_fbase)};
    // The object's PT_LOAD segments, found by the base dladdr gave.
    ::dl_iterate_phdr(
        [](dl_phdr_info *object, std::size_t, void *data) {
            auto *s = static_cast<Search *>(data);
            uintptr_t begin = UINTPTR_MAX, end = 0;
            for (int i = 0; i < object->dlpi_phnum; ++i) {
                const ElfW(Phdr) &ph = object->dlpi_phdr[i];
                if (ph.p_type != PT_LOAD)
                    continue;
                begin = std::min<uintptr_t>(begin, object->dlpi_addr + ph.p_vaddr);
                end = std::max<uintptr_t>(end, object->dlpi_addr + ph.p_vaddr + ph.p_memsz);
            }
            if (s->base < begin || s->base >= end)
                return 0;
            s->bias = object->dlpi_addr;
            s->begin = begin;
            s->end = end;
            return 1;
        },
        &search);
    if (search.end == 0)
        return;
    const std::lock_guard lock(g_ranges_mutex);
    const std::size_t count = g_range_count.load(std::memory_order_relaxed);
    if (count == kMaxRanges)
        return;
    PluginRange &range = g_ranges[count];
    range.base = search.bias;
    range.begin = search.begin;
    range.end = search.end;
    copy_text(range.name, sizeof range.name, name);
    copy_text(range.file, sizeof range.file, file.string());
    g_range_count.store(count + 1, std::memory_order_release);
}

void name_plugin_range(const void *symbol, const std::string &name)
{
    const std::lock_guard lock(g_ranges_mutex);
    for (std::size_t i = g_range_count.load(std::memory_order_relaxed); i-- > 0;) {
        if (reinterpret_cast<uintptr_t>(symbol) >= g_ranges[i].begin &&
            reinterpret_cast<uintptr_t>(symbol) < g_ranges[i].end) {
            copy_text(g_ranges[i].name, sizeof g_ranges[i].name, name);
            return;
        }
    }
}

void ensure_alternate_signal_stack()
{
    if (t_alternate_stack_checked)
        return;
    t_alternate_stack_checked = true;
    stack_t current{};
    if (::sigaltstack(nullptr, &current) != 0 || !(current.ss_flags & SS_DISABLE))
        return; // the thread has one already
    const std::size_t size = 64 * 1024;
    void *base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (base == MAP_FAILED)
        return;
    stack_t stack{};
    stack.ss_sp = base;
    stack.ss_size = size;
    if (::sigaltstack(&stack, nullptr) != 0) {
        ::munmap(base, size);
        return;
    }
    t_alternate_stack.base = base;
    t_alternate_stack.size = size;
}

PluginCallMarker::PluginCallMarker(const char *device, const char *plugin, const char *call) noexcept
    : device_(device), plugin_(plugin), call_(call), outer_(t_marker)
{
    ensure_alternate_signal_stack();
    t_marker = this;
}

PluginCallMarker::~PluginCallMarker() { t_marker = outer_; }

std::size_t describe_plugin_crash(char *out, std::size_t size, const void *pc) noexcept
{
    SignalSafeText text(out, size);
    if (const PluginCallMarker *marker = t_marker) {
        const PluginRange *range = range_named(marker->plugin_);
        text.text("device '").text(marker->device_).text("' (plugin '").text(marker->plugin_).text("'");
        if (range != nullptr)
            text.text(", ").text(range->file);
        return text.text(", in ").text(marker->call_).text(")").size();
    }
    if (const PluginRange *range = range_of(reinterpret_cast<uintptr_t>(pc)))
        return text.text("plugin '").text(range->name).text("' (").text(range->file).text(")").size();
    return 0;
}

std::size_t plugin_offset_of(char *out, std::size_t size, const void *pc) noexcept
{
    const PluginRange *range = range_of(reinterpret_cast<uintptr_t>(pc));
    if (range == nullptr)
        return 0;
    SignalSafeText text(out, size);
    return text.text(range->file).text("+").hex(reinterpret_cast<uintptr_t>(pc) - range->base).size();
}

} // namespace vmm
