#include "isolation/isolated_device.hpp"

#include "isolation/device_host_spawn.hpp"
#include "isolation/observer_drops.hpp"
#include "isolation/socket_settings.hpp"
#include "kvm/guest_memory.hpp"
#include "plugin/host_context.hpp"
#include "plugin/host_services.hpp"
#include "support/errors.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

namespace vmm {

using namespace isolation;

namespace {

constexpr int kDestroyLimitMs = 500;
constexpr int kObserverDestroyLimitMs = 10000;

long futex(std::atomic<uint32_t> *word, int op, uint32_t value, const timespec *timeout = nullptr)
{
    return ::syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), op, value, timeout, nullptr, 0);
}

int fd_above(int fd, int minimum)
{
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, minimum);
    ::close(fd);
    return moved;
}

std::string signal_name(int signal)
{
    const char *abbreviation = ::sigabbrev_np(signal);
    return abbreviation != nullptr ? std::string("SIG") + abbreviation : fmt::format("signal {}", signal);
}

bool valid_status(int32_t status) { return status <= VMM_OK && status >= VMM_ERROR_EXCEPTION; }

} // namespace

struct IsolatedDevice::Child {
    pid_t pid = -1;
    int pidfd = -1;
    int channel = -1;
    int rpc = -1;
    int wake = -1; // ends the reader thread
    AccessSlot *slots = nullptr;
    uint32_t slot_count = 0;
    std::mutex shared_slot_mutex; // the last slot, for threads that are not vCPUs
    std::atomic<bool> alive{true};
    std::atomic<bool> handled{false}; // died() has applied the policy
    std::mutex why_mutex;
    std::string violation; // what the sandbox refused, as the child reported it
    std::string cause;     // why vmm killed it (a hung access, a protocol error)
    std::thread reader;

    ~Child()
    {
        if (slots != nullptr)
            ::munmap(slots, sizeof(AccessSlot) * slot_count);
        for (int fd : {pidfd, channel, rpc, wake})
            if (fd >= 0)
                ::close(fd);
    }
    void kill(const std::string &why)
    {
        {
            const std::lock_guard lock(why_mutex);
            if (cause.empty())
                cause = why;
        }
        ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    }
};

IsolatedDevice::IsolatedDevice(const vmm_device_create_info &info, IsolationOptions options, bool observer)
    : options_(std::move(options)), host_(info.host), api_(info.host_api), name_(info.instance_name),
      plugin_name_(info.host->plugin_name)
{
    const uint32_t vcpus = api_->vcpu_count(host_);
    slot_count_ = std::min<uint32_t>(vcpus, kMaxSlots - 1) + 1;
    Writer &m = init_message_;
    m.str(options_.plugin_file.string()).str(name_).u32(info.flags).u32(info.irq_count).u32(vcpus);
    m.u32(slot_count_).u32(options_.sandbox ? 1 : 0);
    m.u32(info.setting_count);
    std::map<std::string, int> connected; // socket path -> the descriptor connected to it
    for (uint32_t i = 0; i < info.setting_count; ++i) {
        const vmm_setting &s = info.settings[i];
        m.str(s.key).u32(s.type).i64(s.int_value).f64(s.float_value);
        const std::string text = s.type == VMM_VALUE_STRING ? std::string(s.string_value, s.string_length) : std::string();
        m.str(text);
        if (s.type == VMM_VALUE_STRING)
            string_settings_.emplace_back(s.key, text);
        // A path setting (ABI 1.5): opened here, the descriptor passed.
        const auto path = options_.path_keys.find(s.key);
        uint32_t kind = s.type == VMM_VALUE_STRING && path != options_.path_keys.end() ? path->second : 0;
        // A socket setting (ABI 1.6): connected here, the descriptor passed.
        const bool socket = s.type == VMM_VALUE_STRING && options_.socket_keys.contains(s.key);
        int error = 0;
        if (socket) {
            // Two settings naming one socket (serial-file's `socket` and
            // `input_from = "connect:..."`) share one connection, as the
            // plugin's own would be: the listener sees one client.
            kind = VMM_KEY_SOCKET_CONNECT;
            const std::string socket_path = socket_path_of(text);
            const auto earlier = connected.find(socket_path);
            const int fd = earlier != connected.end() ? ::fcntl(earlier->second, F_DUPFD_CLOEXEC, 0)
                                                      : connect_unix_socket(socket_path, error);
            if (fd >= 0) {
                passed_fds_.push_back(fd);
                connected.emplace(socket_path, fd);
            } else if (earlier != connected.end()) {
                error = errno;
            }
        } else if (kind != 0) {
            const int flags = kind == VMM_KEY_PATH_WRITE ? O_WRONLY | O_CREAT : O_RDONLY;
            // O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of blocking vmm.
            const int fd = ::open(text.c_str(), flags | O_CLOEXEC | O_NONBLOCK, 0644);
            if (fd >= 0)
                passed_fds_.push_back(fd);
            else
                error = errno;
        }
        m.u32(kind).u32(static_cast<uint32_t>(error));
        if (socket)
            m.str(socket_path_of(text)); // what the plugin's connect() names
    }
    m.u32(info.region_count);
    for (uint32_t i = 0; i < info.region_count; ++i) {
        uint64_t base = 0;
        api_->region_address(host_, i, &base);
        m.u32(info.regions[i].space).u64(info.regions[i].size).u64(base);
    }
    const auto &regions = host_->services->memory().regions();
    m.u32(static_cast<uint32_t>(regions.size()));
    for (const auto &r : regions)
        m.u64(r->guest_address).u64(r->size).u32(r->read_only ? 1 : 0);

    try {
        if (observer)
            rings_ = std::make_unique<ObserverRings>(vcpus, observer_drop_counter(name_));
        auto child = spawn();
        {
            const std::lock_guard lock(child_mutex_);
            child_ = child;
        }
        initialize(*child); // throws
        if (rings_)
            attach_rings();
    } catch (...) {
        shut_down(); // no destructor runs for a constructor that throws
        throw;
    }
    const auto child = current();
    log(VMM_LOG_INFO, fmt::format("isolated: plugin '{}' runs in process {} ({})", plugin_name_, child->pid,
                                  options_.sandbox ? "sandboxed" : "not sandboxed"));
}

IsolatedDevice::~IsolatedDevice() { shut_down(); }

void IsolatedDevice::shut_down()
{
    destroying_ = true;
    if (auto child = current(); child && child->alive) {
        // An observer writes its output in destroy, as in-process, where
        // nothing limits it: give it as long as a lifecycle call, once its
        // events are in (a child that cannot even flush is not waited for).
        if (!rings_ || flush_rings(*child))
            call(Writer(msg_destroy), {},
                 rings_ ? std::chrono::milliseconds(kObserverDestroyLimitMs)
                        : std::chrono::milliseconds(kDestroyLimitMs));
    }
    report_drops();
    // Until no reader thread is left: one that was restarting its device
    // when we started may have made a new child (and reader) meanwhile,
    // which the next pass finds once the first reader has been joined.
    for (bool joined = true; joined;) {
        joined = false;
        std::vector<std::shared_ptr<Child>> children;
        {
            const std::lock_guard lock(child_mutex_);
            children = std::move(retired_);
            retired_.clear();
            if (child_)
                children.push_back(child_);
        }
        for (const auto &child : children) {
            if (!child->reader.joinable())
                continue;
            joined = true;
            ::syscall(SYS_pidfd_send_signal, child->pidfd, SIGKILL, nullptr, 0);
            const uint64_t one = 1;
            (void)!::write(child->wake, &one, sizeof one);
            if (child->reader.get_id() != std::this_thread::get_id())
                child->reader.join();
            else
                child->reader.detach();
        }
    }
    for (int fd : passed_fds_)
        ::close(fd);
}

std::shared_ptr<IsolatedDevice::Child> IsolatedDevice::current() const
{
    const std::lock_guard lock(child_mutex_);
    return child_;
}

std::string IsolatedDevice::who() const
{
    return fmt::format("device '{}' (plugin '{}', {}, isolated)", name_, plugin_name_, options_.plugin_file.string());
}

std::shared_ptr<IsolatedDevice::Child> IsolatedDevice::spawn()
{
    auto child = std::make_shared<Child>();
    int channel[2], rpc[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel) != 0)
        throw SystemError(errno_message("socketpair for an isolated device", errno));
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rpc) != 0) {
        ::close(channel[0]);
        ::close(channel[1]);
        throw SystemError(errno_message("socketpair for an isolated device", errno));
    }
    child->channel = channel[0];
    child->rpc = rpc[0];
    // Above 4, so that dup2 onto 3 and 4 always makes a copy without CLOEXEC.
    const int child_channel = fd_above(channel[1], 10);
    const int child_rpc = fd_above(rpc[1], 10);
    child->wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    const int slots_fd = ::memfd_create("vmm-access-slots", MFD_CLOEXEC);
    const std::size_t slots_size = sizeof(AccessSlot) * slot_count_;
    if (slots_fd < 0 || ::ftruncate(slots_fd, static_cast<off_t>(slots_size)) != 0)
        throw SystemError(errno_message("memfd for access slots", errno));
    void *slots = ::mmap(nullptr, slots_size, PROT_READ | PROT_WRITE, MAP_SHARED, slots_fd, 0);
    if (slots == MAP_FAILED)
        throw SystemError(errno_message("mapping access slots", errno));
    child->slots = static_cast<AccessSlot *>(slots);
    child->slot_count = slot_count_;

    const std::string helper = options_.helper.string();
    pid_t pid = -1;
    const int rc = spawn_device_host(helper, {"--serve"}, {{child_channel, kChannelFd}, {child_rpc, kRpcFd}}, pid);
    ::close(child_channel);
    ::close(child_rpc);
    if (rc != 0) {
        ::close(slots_fd);
        throw SystemError(errno_message(fmt::format("starting {} for {}", helper, who()), rc));
    }
    child->pid = pid;
    child->pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (child->pidfd < 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        ::close(slots_fd);
        throw SystemError(errno_message("pidfd_open", errno));
    }
    std::vector<int> fds = {slots_fd};
    for (const auto &r : host_->services->memory().regions())
        fds.push_back(r->fd);
    fds.insert(fds.end(), passed_fds_.begin(), passed_fds_.end());
    {
        const std::lock_guard lock(reply_mutex_);
        reply_.reset(); // the init's reply is the next one
    }
    const bool sent = send_message(child->channel, init_message_, fds);
    ::close(slots_fd);
    child->reader = std::thread([this, child] { serve(child); });
    if (!sent)
        child->kill("the init message could not be sent");
    return child;
}

void IsolatedDevice::initialize(Child &child)
{
    auto reply = call(Writer(0), {}, std::chrono::seconds(10)); // the init message is already on its way
    if (!reply) {
        {
            std::unique_lock lock(reply_mutex_);
            reply_ready_.wait_for(lock, std::chrono::seconds(1), [&] { return child.handled.load(); });
        }
        std::string how, violation;
        {
            const std::lock_guard lock(child.why_mutex);
            how = child.cause;
            violation = child.violation;
        }
        // A plugin opening a file (connecting to a socket) named by one of
        // its settings that it does not declare a path (a socket): older
        // than ABI 1.5 (1.6). Say which, and what to do.
        const auto quote = violation.find('"'), end = violation.rfind('"');
        if (quote != std::string::npos && end > quote) {
            const std::string path = violation.substr(quote + 1, end - quote - 1);
            const bool connects = violation.rfind("connect(", 0) == 0;
            for (const auto &[key, value] : string_settings_) {
                if (!connects && value == path && !options_.path_keys.contains(key))
                    throw InputError(fmt::format(
                        "device '{}': isolate = true, but plugin '{}' opens the file of its setting '{}' ('{}') "
                        "itself, which its sandbox forbids; the plugin does not declare that setting a path "
                        "(VMM_KEY_PATH_WRITE or VMM_KEY_PATH_READ, ABI 1.5) for vmm to open: run it in-process or "
                        "rebuild it against SDK 1.5",
                        name_, plugin_name_, key, value));
                if (connects && socket_path_of(value) == path && !options_.socket_keys.contains(key))
                    throw InputError(fmt::format(
                        "device '{}': isolate = true, but plugin '{}' connects to the socket of its setting '{}' "
                        "('{}') itself, which its sandbox forbids; the plugin does not declare that setting a socket "
                        "(VMM_KEY_SOCKET_CONNECT, ABI 1.6) for vmm to connect: run it in-process or rebuild it "
                        "against SDK 1.6",
                        name_, plugin_name_, key, value));
            }
        }
        throw InputError(fmt::format("{}: its process ended during create{}{}", who(), how.empty() ? "" : ": ", how));
    }
    Reader in(reply->bytes.data(), reply->bytes.size());
    const auto status = static_cast<int32_t>(in.u32());
    if (!in.ok() || status != VMM_OK)
        throw InputError(fmt::format("{}: create failed in its process (status {})", who(), status));
}

std::optional<Message> IsolatedDevice::call(const Writer &request, const std::vector<int> &fds,
                                            std::chrono::milliseconds limit)
{
    auto child = current();
    if (!child || !child->alive)
        return std::nullopt;
    std::unique_lock lock(reply_mutex_);
    // Type 0: no request to send, only the reply to the init spawn() sent.
    const bool is_placeholder = request.bytes().size() == sizeof(MessageHeader) &&
                                reinterpret_cast<const MessageHeader *>(request.bytes().data())->type == 0;
    if (!is_placeholder) {
        reply_.reset();
        if (!send_message(child->channel, request, fds))
            return std::nullopt;
    }
    const bool answered =
        reply_ready_.wait_for(lock, limit, [&] { return reply_.has_value() || !child->alive.load(); });
    if (reply_) {
        std::optional<Message> reply = std::move(reply_);
        reply_.reset();
        return reply;
    }
    if (!answered && !destroying_) {
        lock.unlock();
        child->kill(fmt::format("it did not answer a lifecycle call within {} ms", limit.count()));
        lock.lock();
    }
    if (!destroying_ && !is_placeholder) {
        // Say how it ended, so that the caller's failure explains itself.
        reply_ready_.wait_for(lock, std::chrono::seconds(1), [&] { return child->handled.load(); });
        lock.unlock();
        const std::lock_guard why(child->why_mutex);
        log(VMM_LOG_ERROR, fmt::format("its process (pid {}) ended during a lifecycle call: {}", child->pid,
                                       child->cause.empty() ? std::string("no reason known") : child->cause));
    }
    return std::nullopt;
}

vmm_status IsolatedDevice::access(uint32_t op, uint32_t region, uint64_t offset, uint8_t *data, uint32_t size)
{
    auto child = detached_ ? nullptr : current();
    if (!child || !child->alive) {
        if (op == op_read)
            std::memset(data, 0xff, size);
        return VMM_OK; // detached, or between a crash and its restart: all ones
    }
    const int32_t vcpu = host_->services->current_vcpu();
    std::unique_lock<std::mutex> shared;
    AccessSlot *slot;
    if (vcpu >= 0 && static_cast<uint32_t>(vcpu) + 1 < child->slot_count) {
        slot = &child->slots[vcpu];
    } else {
        shared = std::unique_lock(child->shared_slot_mutex);
        slot = &child->slots[child->slot_count - 1];
    }
    slot->op = op;
    slot->region = region;
    slot->offset = offset;
    slot->size = size;
    std::memset(slot->data, 0, sizeof slot->data);
    if (op == op_write)
        std::memcpy(slot->data, data, size);
    slot->state.store(slot_request);
    if (slot->child_waiting.load() != 0) // else it is spinning and sees the request without a system call
        futex(&slot->state, FUTEX_WAKE, 1);

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.access_timeout_ms);
    uint32_t state = slot->state.load(std::memory_order_acquire);
    for (int spin = 0; state == slot_request && spin < 4000; ++spin) {
        __builtin_ia32_pause();
        state = slot->state.load(std::memory_order_acquire);
    }
    while (state != slot_response) {
        if (state != slot_request) {
            child->kill(fmt::format("it wrote an impossible slot state {}", state));
            break;
        }
        if (!child->alive)
            break;
        if (std::chrono::steady_clock::now() > deadline) {
            child->kill(fmt::format("it did not answer a {} of {} byte(s) at region {} offset {:#x} within {} ms",
                                    op == op_read ? "read" : "write", size, region, offset,
                                    options_.access_timeout_ms));
            break;
        }
        const timespec slice{0, 10'000'000};
        slot->vmm_waiting.store(1);
        if (slot->state.load() == slot_request)
            futex(&slot->state, FUTEX_WAIT, slot_request, &slice);
        slot->vmm_waiting.store(0);
        state = slot->state.load(std::memory_order_acquire);
    }
    if (state != slot_response) {
        // The guest goes on only once the policy is applied: a stop must win
        // over what the guest does next (a HLT would end the VM with 0).
        std::unique_lock lock(reply_mutex_);
        reply_ready_.wait_for(lock, std::chrono::seconds(1), [&] { return child->handled.load(); });
        if (op == op_read)
            std::memset(data, 0xff, size);
        return VMM_OK;
    }
    // Each field read once, and checked: the child may have written anything.
    const int32_t status = slot->status;
    const uint32_t sent = slot->messages_sent;
    if (op == op_read)
        std::memcpy(data, slot->data, size);
    slot->state.store(slot_idle, std::memory_order_release);
    if (!valid_status(status)) {
        child->kill(fmt::format("it answered an access with status {}, which no plugin returns", status));
        return VMM_ERROR;
    }
    // The lines the plugin logged while handling it come out before the guest goes on.
    std::unique_lock lock(reply_mutex_);
    reply_ready_.wait_for(lock, std::chrono::milliseconds(100), [&] {
        return static_cast<int32_t>(sent - messages_processed_) <= 0 || !child->alive;
    });
    return status;
}

vmm_status IsolatedDevice::read(uint32_t region, uint64_t offset, void *data, uint32_t size)
{
    return access(op_read, region, offset, static_cast<uint8_t *>(data), size);
}

vmm_status IsolatedDevice::write(uint32_t region, uint64_t offset, const void *data, uint32_t size)
{
    return access(op_write, region, offset, static_cast<uint8_t *>(const_cast<void *>(data)), size);
}

namespace {
vmm_status status_of(const std::optional<Message> &reply, uint64_t *value = nullptr)
{
    if (!reply)
        return VMM_ERROR;
    Reader in(reply->bytes.data(), reply->bytes.size());
    const auto status = static_cast<int32_t>(in.u32());
    const uint64_t v = in.u64();
    if (!in.at_end() || !valid_status(status))
        return VMM_ERROR;
    if (value != nullptr)
        *value = v;
    return status;
}
} // namespace

Writer IsolatedDevice::realize_message(std::vector<int> &fds)
{
    // Each connected line's irqfd goes to the child: a pulse never comes back here.
    Writer request(msg_realize);
    const uint32_t lines = host_->runtime ? host_->runtime->irq_count() : 0;
    request.u32(lines);
    for (uint32_t i = 0; i < lines; ++i) {
        const int fd = api_->irq_eventfd(host_, i);
        request.u32(fd >= 0 ? 1 : 0);
        if (fd >= 0)
            fds.push_back(fd);
    }
    return request;
}

vmm_status IsolatedDevice::realize()
{
    std::vector<int> fds;
    const Writer request = realize_message(fds);
    const vmm_status status = status_of(call(request, fds));
    if (status == VMM_OK)
        realized_ = true;
    return status;
}

vmm_status IsolatedDevice::quiesce() { return status_of(call(Writer(msg_quiesce))); }
vmm_status IsolatedDevice::resume() { return status_of(call(Writer(msg_resume))); }

vmm_status IsolatedDevice::save_state(void *buffer, uint64_t capacity, uint64_t *size)
{
    if (saved_blob_.empty()) {
        auto reply = call(Writer(msg_save_state));
        uint64_t blob_size = 0;
        const vmm_status status = status_of(reply, &blob_size);
        if (status != VMM_OK)
            return status;
        const int fd = reply->take_fd(0);
        if (fd < 0 || blob_size > kMaxStateBlob) {
            if (fd >= 0)
                ::close(fd);
            return VMM_ERROR;
        }
        saved_blob_.resize(blob_size);
        const bool complete = ::pread(fd, saved_blob_.data(), blob_size, 0) == static_cast<ssize_t>(blob_size);
        ::close(fd);
        if (!complete) {
            saved_blob_.clear();
            return VMM_ERROR;
        }
        if (blob_size == 0)
            return *size = 0, VMM_OK;
    }
    *size = saved_blob_.size();
    if (capacity < saved_blob_.size())
        return VMM_ERROR_RANGE; // the host asks again with room for it
    std::memcpy(buffer, saved_blob_.data(), saved_blob_.size());
    last_state_ = std::move(saved_blob_);
    saved_blob_.clear();
    return VMM_OK;
}

vmm_status IsolatedDevice::load_state(const void *data, uint64_t size)
{
    const int fd = ::memfd_create("vmm-state", MFD_CLOEXEC);
    if (fd < 0 || ::write(fd, data, size) != static_cast<ssize_t>(size)) {
        if (fd >= 0)
            ::close(fd);
        return VMM_ERROR;
    }
    Writer request(msg_load_state);
    request.u64(size);
    const vmm_status status = status_of(call(request, {fd}));
    ::close(fd);
    if (status == VMM_OK)
        last_state_ = std::vector<uint8_t>(static_cast<const uint8_t *>(data), static_cast<const uint8_t *>(data) + size);
    return status;
}

// ---- an isolated observer's events ----------------------------------------

void IsolatedDevice::attach_rings()
{
    Writer request(msg_observer_rings);
    request.u32(rings_->ring_count());
    if (status_of(call(request, {rings_->fd()})) != VMM_OK)
        throw SystemError(fmt::format("{}: its process did not take its exit-event rings", who()));
}

void IsolatedDevice::observe(const vmm_exit_event &event)
{
    if (detached_.load(std::memory_order_relaxed))
        return; // on_crash = "detach": the VM goes on without it
    switch (rings_->publish(event)) {
    case ObserverRings::Result::published: return;
    case ObserverRings::Result::violation:
        if (!violation_handled_.exchange(true)) {
            if (auto child = current())
                child->kill(rings_->violation());
        }
        return;
    case ObserverRings::Result::dropped:
        if (!drop_logged_.exchange(true))
            log(VMM_LOG_WARN, fmt::format("its process is not taking exit events (its ring of {} on vCPU {} is full): "
                                          "events are dropped and counted until it catches up",
                                          kObserverRingCapacity, event.vcpu));
        return;
    }
}

bool IsolatedDevice::flush_rings(Child &child)
{
    const uint64_t pending = rings_->pending();
    if (call(Writer(msg_observer_flush), {}, std::chrono::milliseconds(kDestroyLimitMs)))
        return true;
    child.kill("it did not take its last exit events");
    log(VMM_LOG_ERROR, fmt::format("its process did not take its last {} exit event(s) within {} ms: killed, "
                                   "so what it writes at the end is missing",
                                   pending, kDestroyLimitMs));
    return false;
}

void IsolatedDevice::report_drops()
{
    if (rings_ && rings_->dropped() != 0)
        log(VMM_LOG_WARN, fmt::format("{} exit event(s) dropped: its process did not take them as fast as the vCPUs "
                                      "made them (rings of {} events per vCPU); its output misses them",
                                      rings_->dropped(), kObserverRingCapacity));
}

void IsolatedDevice::log(uint32_t level, const std::string &text) { api_->log(host_, level, text.c_str()); }

// ---- the reader thread ----------------------------------------------------

// By value: the reader thread owns a reference, so the child's descriptors
// outlive every other owner while it reads.
void IsolatedDevice::serve(std::shared_ptr<Child> child) // NOLINT(performance-unnecessary-value-param)
{
    for (;;) {
        pollfd fds[4] = {{child->channel, POLLIN, 0}, {child->rpc, POLLIN, 0}, {child->pidfd, POLLIN, 0},
                         {child->wake, POLLIN, 0}};
        if (::poll(fds, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].revents & POLLIN) {
            auto message = receive_message(child->channel);
            if (message && handle_message(*child, *message))
                continue;
            if (message)
                child->kill("it sent a malformed or unknown message on its channel");
        } else if (fds[1].revents & POLLIN) {
            auto message = receive_message(child->rpc);
            if (message && handle_rpc(*child, *message))
                continue;
            if (message)
                child->kill("it sent a malformed or unknown call to vmm");
        }
        if ((fds[0].revents | fds[1].revents) & (POLLHUP | POLLERR) || (fds[2].revents & POLLIN) ||
            (fds[3].revents & POLLIN)) {
            // Dying or dead: take what it said last, then say how it ended.
            for (;;) {
                pollfd last{child->channel, POLLIN, 0};
                if (::poll(&last, 1, 0) <= 0 || !(last.revents & POLLIN))
                    break;
                auto message = receive_message(child->channel);
                if (!message || !handle_message(*child, *message))
                    break;
            }
            if (!(fds[2].revents & POLLIN) && !(fds[3].revents & POLLIN)) {
                // A process that ends closes its sockets just before it can be
                // waited for: give it a moment before calling it a hang-up.
                pollfd exited{child->pidfd, POLLIN, 0};
                if (::poll(&exited, 1, 200) <= 0)
                    child->kill("it closed its channel");
            }
            died(*child);
            return;
        }
    }
}

bool IsolatedDevice::handle_message(Child &child, Message &message)
{
    Reader in(message.bytes.data(), message.bytes.size());
    switch (in.type()) {
    case msg_reply: {
        const std::lock_guard lock(reply_mutex_);
        reply_ = std::move(message);
        reply_ready_.notify_all();
        return true;
    }
    case msg_log: {
        const uint32_t level = in.u32();
        const std::string text = in.str();
        if (!in.at_end() || level > VMM_LOG_CRITICAL || text.find('\0') != std::string::npos)
            return false;
        log(level, text);
        break;
    }
    case msg_request_stop: {
        const auto status = static_cast<int32_t>(in.u32());
        if (!in.at_end())
            return false;
        api_->request_stop(host_, status);
        break;
    }
    case msg_sandbox_violation: {
        const std::string what = in.str(512);
        if (!in.ok())
            return false;
        const std::lock_guard lock(child.why_mutex);
        child.violation = what;
        return true;
    }
    default: return false;
    }
    const std::lock_guard lock(reply_mutex_);
    ++messages_processed_;
    reply_ready_.notify_all();
    return true;
}

bool IsolatedDevice::handle_rpc(Child &child, Message &message)
{
    Reader in(message.bytes.data(), message.bytes.size());
    const uint32_t count = in.u32();
    if (!in.ok() || count > 8)
        return false;
    uint64_t a[8] = {};
    for (uint32_t i = 0; i < count; ++i)
        a[i] = in.u64();
    if (!in.at_end())
        return false;
    vmm_status status = VMM_ERROR_INVALID;
    switch (in.type()) {
    case msg_irq_set_level:
        status = count == 2 && a[0] <= UINT32_MAX ? api_->irq_set_level(host_, static_cast<uint32_t>(a[0]), a[1] != 0)
                                                  : VMM_ERROR_INVALID;
        break;
    case msg_msi_send:
        status = count == 2 ? api_->msi_send(host_, a[0], static_cast<uint32_t>(a[1])) : VMM_ERROR_INVALID;
        break;
    case msg_doorbell_add: {
        if (count != 6 || a[1] > UINT32_MAX || a[3] > 8 || a[4] > UINT32_MAX)
            break;
        vmm_doorbell doorbell{sizeof(vmm_doorbell), static_cast<uint32_t>(a[1]), a[2], static_cast<uint32_t>(a[3]),
                              static_cast<uint32_t>(a[4]), a[5]};
        auto forward = std::make_unique<DoorbellForward>(DoorbellForward{this, a[0]});
        uint64_t handle = 0;
        status = api_->doorbell_add(host_, &doorbell, doorbell_rang, forward.get(), &handle);
        if (status == VMM_OK) {
            const std::lock_guard lock(doorbell_mutex_);
            doorbells_[a[0]] = {handle, std::move(forward)};
        }
        break;
    }
    case msg_doorbell_release: {
        if (count != 1)
            break;
        std::unique_ptr<DoorbellForward> forward;
        uint64_t handle = 0;
        {
            const std::lock_guard lock(doorbell_mutex_);
            const auto it = doorbells_.find(a[0]);
            if (it == doorbells_.end())
                break;
            handle = it->second.first;
            forward = std::move(it->second.second);
            doorbells_.erase(it);
        }
        status = api_->release(host_, handle);
        break;
    }
    default: return false;
    }
    Writer reply(msg_rpc_reply);
    reply.u32(static_cast<uint32_t>(status)).u64(0);
    send_message(child.rpc, reply, {}, true);
    return true;
}

void IsolatedDevice::doorbell_rang(void *opaque, uint64_t, uint64_t rings)
{
    auto *forward = static_cast<DoorbellForward *>(opaque);
    if (auto child = forward->device->current(); child && child->alive) {
        Writer message(msg_doorbell_rang);
        message.u64(forward->child_handle).u64(rings);
        send_message(child->channel, message, {}, true);
    }
}

void IsolatedDevice::died(Child &child)
{
    struct Handled {
        IsolatedDevice &device;
        Child &child;
        ~Handled()
        {
            child.handled = true;
            const std::lock_guard lock(device.reply_mutex_);
            device.reply_ready_.notify_all();
        }
    } handled{*this, child};
    child.alive = false;
    for (uint32_t i = 0; i < child.slot_count; ++i)
        futex(&child.slots[i].state, FUTEX_WAKE, INT32_MAX);
    siginfo_t info{};
    ::syscall(SYS_pidfd_send_signal, child.pidfd, SIGKILL, nullptr, 0);
    ::waitid(P_PIDFD, static_cast<id_t>(child.pidfd), &info, WEXITED);
    {
        const std::lock_guard lock(reply_mutex_);
        reply_ready_.notify_all();
    }
    std::string how = info.si_code == CLD_EXITED ? fmt::format("exited with status {}", info.si_status)
                                                 : fmt::format("killed by {}", signal_name(info.si_status));
    {
        const std::lock_guard lock(child.why_mutex);
        if (!child.violation.empty())
            how += ": the sandbox refused " + child.violation;
        else if (!child.cause.empty())
            how += " (by vmm: " + child.cause + ")";
        child.cause = how;
    }
    {
        // Its doorbells go with it (a restarted child registers its own).
        std::map<uint64_t, std::pair<uint64_t, std::unique_ptr<DoorbellForward>>> doorbells;
        {
            const std::lock_guard lock(doorbell_mutex_);
            doorbells.swap(doorbells_);
        }
        for (auto &[child_handle, entry] : doorbells)
            api_->release(host_, entry.first);
    }
    if (destroying_ || !realized_)
        return; // an ending we asked for, or a create that fails with this explanation
    const std::string reason = fmt::format("{} crashed: its process (pid {}) {}", who(), child.pid, how);
    switch (options_.on_crash) {
    case OnCrash::stop:
        log(VMM_LOG_ERROR, reason + "; on_crash = \"stop\": ending the VM");
        host_->services->device_crashed(3, reason);
        return;
    case OnCrash::detach:
        detached_ = true;
        log(VMM_LOG_ERROR, reason + (rings_ ? "; on_crash = \"detach\": its exit events are no longer delivered"
                                            : "; on_crash = \"detach\": its ranges read as all ones from now on"));
        return;
    case OnCrash::restart: {
        const auto now = std::chrono::steady_clock::now();
        while (!restart_times_.empty() && now - restart_times_.front() > std::chrono::seconds(options_.restart_window_s))
            restart_times_.pop_front();
        if (restart_times_.size() >= options_.max_restarts) {
            const std::string limit = fmt::format("{}; on_crash = \"restart\", but it was restarted {} times in {} s: "
                                                  "ending the VM",
                                                  reason, restart_times_.size(), options_.restart_window_s);
            log(VMM_LOG_ERROR, limit);
            host_->services->device_crashed(3, limit);
            return;
        }
        restart_times_.push_back(now);
        log(VMM_LOG_ERROR, fmt::format("{}; on_crash = \"restart\": restart {} {}", reason, restarts_.load() + 1,
                                       last_state_ ? fmt::format("from its last state ({} bytes)", last_state_->size())
                                                   : std::string("from scratch (no state saved yet)")));
        restart();
        return;
    }
    }
}

void IsolatedDevice::restart()
{
    try {
        auto fresh = spawn();
        std::shared_ptr<Child> old;
        {
            const std::lock_guard lock(child_mutex_);
            old = child_;
            child_ = fresh;
            retired_.push_back(old);
        }
        initialize(*fresh);
        std::vector<int> fds;
        const Writer request = realize_message(fds);
        if (status_of(call(request, fds)) != VMM_OK)
            throw SystemError("realize failed");
        if (last_state_ && load_state(last_state_->data(), last_state_->size()) != VMM_OK)
            throw SystemError("its last state was refused");
        ++restarts_;
        log(VMM_LOG_INFO, fmt::format("restarted (pid {})", fresh->pid));
        // Last: the events waiting in the rings flow at once, and may crash
        // it again (its next crash is then handled as a crash of a running device).
        if (rings_)
            attach_rings();
    } catch (const std::exception &e) {
        const std::string reason = fmt::format("{}: restarting it failed: {}", who(), e.what());
        log(VMM_LOG_ERROR, reason);
        host_->services->device_crashed(3, reason);
    }
}

} // namespace vmm
