// vmm-device-host: runs one device plugin for vmm, in a process of its own.
// vmm starts it (posix_spawn) with the channel socket on descriptor 3 and the
// rpc socket on 4; everything else arrives in the init message. Started with
// `--describe FILE` (and the channel only), it sends FILE's descriptor instead. See
// vmm/isolation/channel.hpp for the protocol and docs/isolation.md.
#include "device_host/child_host.hpp"
#include "device_host/describe_plugin.hpp"
#include "device_host/observer_drain.hpp"
#include "device_host/passed_files.hpp"
#include "device_host/sandbox.hpp"
#include "isolation/wire.hpp"

#include <vmm/plugin_abi.h>

#include <dlfcn.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace vmm;
using namespace vmm::device_host;
using namespace vmm::isolation;

namespace {

struct Plugin {
    vmm_plugin_descriptor descriptor{};
    void *instance = nullptr;
    // Set (release) once create returned: the slot threads, started before
    // it, read `instance` only after seeing it (acquire). vmm sends no
    // access before create's reply, but that ordering runs through another
    // process, where neither the memory model nor ThreadSanitizer sees it.
    std::atomic<bool> created{false};
};

ChildHost *g_host = nullptr;
Plugin g_plugin;

std::unique_lock<std::mutex> plugin_lock()
{
    if (g_host->thread_safe)
        return std::unique_lock<std::mutex>(g_host->plugin_mutex, std::defer_lock);
    return std::unique_lock<std::mutex>(g_host->plugin_mutex);
}

void reply(vmm_status status, uint64_t value = 0, const std::vector<int> &fds = {})
{
    Writer message(msg_reply);
    message.u32(static_cast<uint32_t>(status)).u64(value);
    if (!send_message(g_host->channel(), message, fds))
        _exit(0);
}

[[noreturn]] void fail(const std::string &why)
{
    g_host->log(VMM_LOG_ERROR, why);
    reply(VMM_ERROR);
    _exit(1);
}

long futex(std::atomic<uint32_t> *word, int op, uint32_t value)
{
    return ::syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), op, value, nullptr, nullptr, 0);
}

// One thread per slot: waits for a request, calls the plugin, answers.
void serve_slot(AccessSlot *slot, int32_t vcpu)
{
    t_current_vcpu = vcpu;
    for (;;) {
        uint32_t state = slot->state.load(std::memory_order_acquire);
        for (int spin = 0; state != slot_request && spin < 2000; ++spin) {
            __builtin_ia32_pause();
            state = slot->state.load(std::memory_order_acquire);
        }
        if (state != slot_request) {
            slot->child_waiting.store(1);
            if (slot->state.load() != slot_request)
                futex(&slot->state, FUTEX_WAIT, state);
            slot->child_waiting.store(0);
            continue;
        }
        const uint32_t op = slot->op;
        const uint32_t size = slot->size <= 8 ? slot->size : 8;
        uint8_t data[8];
        std::memcpy(data, slot->data, sizeof data);
        vmm_status status = VMM_ERROR_UNSUPPORTED;
        if (!g_plugin.created.load(std::memory_order_acquire)) {
            status = VMM_ERROR; // a request before create: vmm never sends one
        } else {
            const auto lock = plugin_lock();
            if (op == op_read && g_plugin.descriptor.read != nullptr)
                status = g_plugin.descriptor.read(g_plugin.instance, slot->region, slot->offset, data, size);
            else if (op == op_write && g_plugin.descriptor.write != nullptr)
                status = g_plugin.descriptor.write(g_plugin.instance, slot->region, slot->offset, data, size);
        }
        std::memcpy(slot->data, data, sizeof data);
        slot->status = status;
        slot->messages_sent = g_host->messages_sent.load();
        slot->state.store(slot_response);
        if (slot->vmm_waiting.load() != 0)
            futex(&slot->state, FUTEX_WAKE, 1);
    }
}

void *map_fd(int fd, uint64_t size, bool writable)
{
    void *p = ::mmap(nullptr, size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    ::close(fd);
    return p == MAP_FAILED ? nullptr : p;
}

// The init message: map what vmm lends, load the plugin, sandbox, create.
void initialize(Message &init)
{
    Reader in(init.bytes.data(), init.bytes.size());
    const std::string file = in.str(4096);
    const std::string instance_name = in.str(64);
    const uint32_t create_flags = in.u32();
    g_host->irq_count = in.u32();
    g_host->vcpu_count = in.u32();
    const uint32_t slot_count = in.u32();
    const bool sandbox = in.u32() != 0;
    struct Setting {
        std::string key, text;
        vmm_setting entry{};
        uint32_t path_kind =
            0; // VMM_KEY_PATH_* (SOCKET_CONNECT): vmm opened (connected) it; an fd follows, unless open_error
        std::string socket_path;
        int32_t open_error = 0;
    };
    std::vector<Setting> settings(std::min<uint32_t>(in.u32(), 256));
    for (Setting &s : settings) {
        s.key = in.str(256);
        s.entry.struct_size = sizeof(vmm_setting);
        s.entry.type = in.u32();
        s.entry.int_value = in.i64();
        s.entry.float_value = in.f64();
        s.text = in.str();
        s.path_kind = in.u32();
        s.open_error = static_cast<int32_t>(in.u32());
        if (s.path_kind == VMM_KEY_SOCKET_CONNECT)
            s.socket_path = in.str(4096); // what vmm connected to (the value names it)
    }
    std::vector<vmm_region> regions(std::min<uint32_t>(in.u32(), 256));
    for (vmm_region &r : regions) {
        r.struct_size = sizeof(vmm_region);
        r.space = in.u32();
        r.size = in.u64();
        g_host->region_bases.push_back(in.u64());
    }
    const uint32_t memory_count = std::min<uint32_t>(in.u32(), kMaxFds - 1);
    std::vector<GuestRegion> memory(memory_count);
    for (GuestRegion &m : memory) {
        m.gpa = in.u64();
        m.size = in.u64();
        m.read_only = in.u32() != 0;
    }
    std::size_t passed = 0;
    for (const Setting &s : settings)
        passed += s.path_kind != 0 && s.open_error == 0 ? 1 : 0;
    if (!in.at_end() || slot_count == 0 || slot_count > kMaxSlots || init.fds.size() != 1 + memory.size() + passed)
        fail("vmm-device-host: a malformed init message");
    std::vector<PassedFile> files;
    std::size_t next_fd = 1 + memory.size();
    for (const Setting &s : settings) {
        if (s.path_kind == 0)
            continue;
        PassedFile file{s.path_kind == VMM_KEY_SOCKET_CONNECT ? s.socket_path : s.text, s.path_kind, -1, s.open_error};
        if (s.open_error == 0)
            file.fd = init.take_fd(next_fd++);
        files.push_back(std::move(file));
    }
    set_passed_files(std::move(files));
    auto *slots = static_cast<AccessSlot *>(map_fd(init.take_fd(0), sizeof(AccessSlot) * slot_count, true));
    if (slots == nullptr)
        fail("vmm-device-host: cannot map the access slots");
    for (std::size_t i = 0; i < memory.size(); ++i) {
        memory[i].host = static_cast<uint8_t *>(map_fd(init.take_fd(i + 1), memory[i].size, !memory[i].read_only));
        if (memory[i].host == nullptr)
            fail("vmm-device-host: cannot map guest memory");
    }
    g_host->memory = std::move(memory);
    g_host->irqchip = (create_flags & VMM_CREATE_IRQCHIP) != 0;

    void *library = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr)
        fail(std::string("vmm-device-host: ") + ::dlerror());
    const auto *version = static_cast<const uint32_t *>(::dlsym(library, VMM_PLUGIN_ABI_VERSION_SYMBOL));
    const auto describe = reinterpret_cast<vmm_plugin_describe_fn>(::dlsym(library, VMM_PLUGIN_DESCRIBE_SYMBOL));
    if (version == nullptr || describe == nullptr || VMM_ABI_VERSION_MAJOR(*version) != VMM_ABI_MAJOR)
        fail("vmm-device-host: " + file + " is not a plugin of this ABI");
    const vmm_plugin_descriptor *descriptor = describe();
    if (descriptor == nullptr || descriptor->create == nullptr)
        fail("vmm-device-host: " + file + " describes no device");
    std::memcpy(&g_plugin.descriptor, descriptor, std::min<std::size_t>(descriptor->struct_size, sizeof(vmm_plugin_descriptor)));
    if (VMM_ABI_VERSION_MINOR(*version) < 4) { // no lifecycle or lines before 1.4
        g_plugin.descriptor.realize = g_plugin.descriptor.quiesce = g_plugin.descriptor.resume = nullptr;
    }
    g_host->thread_safe = (g_plugin.descriptor.flags & VMM_PLUGIN_THREAD_SAFE) != 0;

    // The threads the channel needs exist before the filter does.
    for (uint32_t i = 0; i < slot_count; ++i)
        std::thread(serve_slot, &slots[i], i + 1 < slot_count ? static_cast<int32_t>(i) : -1).detach();
    g_host->runtime().start();
    if (sandbox) {
        try {
            enter_sandbox(g_host->channel());
        } catch (const std::exception &e) {
            g_host->log(VMM_LOG_ERROR, std::string("sandbox: ") + e.what());
            reply(VMM_ERROR_UNSUPPORTED);
            _exit(1);
        }
    }

    std::vector<vmm_setting> entries;
    for (Setting &s : settings) {
        s.entry.key = s.key.c_str();
        if (s.entry.type == VMM_VALUE_STRING) {
            s.entry.string_value = s.text.c_str();
            s.entry.string_length = s.text.size();
        }
        entries.push_back(s.entry);
    }
    static vmm_device_create_info info{};
    static std::string name_storage;
    static std::vector<vmm_setting> entry_storage;
    static std::vector<vmm_region> region_storage;
    static std::vector<Setting> settings_storage;
    name_storage = instance_name;
    entry_storage = std::move(entries);
    region_storage = std::move(regions);
    settings_storage = std::move(settings);
    info.struct_size = sizeof(info);
    info.instance_name = name_storage.c_str();
    info.host_api = &g_host->api();
    info.host = reinterpret_cast<vmm_host_context *>(g_host);
    info.settings = entry_storage.data();
    info.setting_count = static_cast<uint32_t>(entry_storage.size());
    info.regions = region_storage.data();
    info.region_count = static_cast<uint32_t>(region_storage.size());
    info.irq_count = g_host->irq_count;
    info.flags = create_flags;
    vmm_status status;
    {
        const auto lock = plugin_lock();
        status = g_plugin.descriptor.create(&info, &g_plugin.instance);
    }
    if (status == VMM_OK && g_plugin.instance == nullptr)
        status = VMM_ERROR;
    g_plugin.created.store(status == VMM_OK, std::memory_order_release);
    reply(status);
    if (status != VMM_OK)
        _exit(1);
}

vmm_status lifecycle(vmm_status (*fn)(void *))
{
    if (fn == nullptr)
        return VMM_OK;
    const auto lock = plugin_lock();
    return fn(g_plugin.instance);
}

void save_state()
{
    const auto fn = g_plugin.descriptor.save_state;
    if (fn == nullptr)
        return reply(VMM_ERROR_UNSUPPORTED);
    std::vector<uint8_t> blob(4096);
    uint64_t size = 0;
    vmm_status status;
    {
        const auto lock = plugin_lock();
        for (;;) {
            status = fn(g_plugin.instance, blob.data(), blob.size(), &size);
            if (status == VMM_ERROR_RANGE && size > blob.size() && size <= kMaxStateBlob) {
                blob.resize(size);
                continue;
            }
            break;
        }
    }
    if (status != VMM_OK || size > blob.size())
        return reply(status == VMM_OK ? VMM_ERROR : status);
    const int fd = ::memfd_create("vmm-state", MFD_CLOEXEC);
    if (fd < 0 || ::write(fd, blob.data(), size) != static_cast<ssize_t>(size))
        return reply(VMM_ERROR);
    reply(VMM_OK, size, {fd});
    ::close(fd);
}

void load_state(Message &message)
{
    Reader in(message.bytes.data(), message.bytes.size());
    const uint64_t size = in.u64();
    const int fd = message.take_fd(0);
    if (!in.at_end() || fd < 0 || size > kMaxStateBlob || g_plugin.descriptor.load_state == nullptr) {
        if (fd >= 0)
            ::close(fd);
        return reply(VMM_ERROR_INVALID);
    }
    std::vector<uint8_t> blob(size);
    const bool read_all = ::pread(fd, blob.data(), size, 0) == static_cast<ssize_t>(size);
    ::close(fd);
    if (!read_all)
        return reply(VMM_ERROR_INVALID);
    const auto lock = plugin_lock();
    reply(g_plugin.descriptor.load_state(g_plugin.instance, blob.data(), size));
}

void realize(Message &message)
{
    Reader in(message.bytes.data(), message.bytes.size());
    const uint32_t lines = in.u32();
    std::vector<int> fds(lines, -1);
    std::size_t next = 0;
    for (uint32_t i = 0; i < lines && in.ok(); ++i) {
        if (in.u32() != 0)
            fds[i] = message.take_fd(next++);
    }
    g_host->irq_fds = std::move(fds);
    g_host->realized = true;
    reply(lifecycle(g_plugin.descriptor.realize));
}

// An isolated observer's event rings (msg_observer_rings): drained on a
// thread of their own into the plugin's observe_exit.
std::unique_ptr<ObserverDrain> g_observer;

void start_observer(Message &message)
{
    Reader in(message.bytes.data(), message.bytes.size());
    const uint32_t rings = in.u32();
    const int fd = message.take_fd(0);
    if (!in.at_end() || fd < 0 || rings == 0 || rings > kMaxSlots || g_observer ||
        g_plugin.descriptor.observe_exit == nullptr || !g_plugin.created.load(std::memory_order_acquire)) {
        if (fd >= 0)
            ::close(fd);
        return reply(VMM_ERROR_INVALID);
    }
    // Answered before the first event is delivered: an event that crashes
    // the plugin is then a crash of a running device, not of this call.
    reply(VMM_OK);
    try {
        g_observer = std::make_unique<ObserverDrain>(fd, rings, [](const vmm_exit_event &event) {
            const auto lock = plugin_lock();
            g_plugin.descriptor.observe_exit(g_plugin.instance, &event);
        });
    } catch (const std::exception &e) {
        // The rings cannot be mapped: vmm's events pile up and are dropped
        // and counted; say why.
        g_host->log(VMM_LOG_ERROR, std::string("vmm-device-host: ") + e.what());
    }
}

} // namespace

int main(int argc, char **argv)
{
    // Reading a plugin's descriptor for vmm, which never loads an isolated
    // plugin itself (device_host/describe_plugin.hpp).
    if (argc == 3 && std::strcmp(argv[1], "--describe") == 0) {
        ::syscall(SYS_close_range, 4u, ~0u, 0u); // the channel socket (and stdio) only
        return describe_plugin(argv[2]);
    }
    if (argc != 2 || std::strcmp(argv[1], "--serve") != 0) {
        std::fprintf(stderr, "vmm-device-host: started by vmm for an isolated device; not meant to be run by hand\n");
        return 2;
    }
    ::syscall(SYS_close_range, 5u, ~0u, 0u); // nothing of vmm's but the two sockets (and stdio)
    ChildHost host(kChannelFd, kRpcFd);
    g_host = &host;
    for (;;) {
        auto message = receive_message(kChannelFd);
        if (!message)
            _exit(0); // vmm closed the channel
        Reader in(message->bytes.data(), message->bytes.size());
        switch (in.type()) {
        case msg_init: initialize(*message); break;
        case msg_realize: realize(*message); break;
        case msg_quiesce:
            host.runtime().mute();
            reply(lifecycle(g_plugin.descriptor.quiesce));
            break;
        case msg_resume: {
            const vmm_status status = lifecycle(g_plugin.descriptor.resume);
            host.runtime().unmute();
            reply(status);
            break;
        }
        case msg_save_state: save_state(); break;
        case msg_load_state: load_state(*message); break;
        case msg_doorbell_rang: {
            const uint64_t handle = in.u64();
            const uint64_t rings = in.u64();
            host.runtime().doorbell_rang(handle, rings);
            break;
        }
        case msg_observer_rings: start_observer(*message); break;
        case msg_observer_flush: reply(VMM_OK, g_observer ? g_observer->flush() : 0); break;
        case msg_destroy:
            if (g_observer)
                g_observer->stop(); // every event delivered before the plugin's destroy
            host.runtime().stop();
            {
                const auto lock = plugin_lock();
                g_plugin.descriptor.destroy(g_plugin.instance);
            }
            reply(VMM_OK);
            _exit(0);
        default: _exit(1);
        }
    }
}
