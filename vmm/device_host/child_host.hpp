// What an isolated plugin sees as its host, inside vmm-device-host: the same
// vmm_host_api table, served here. Guest memory is the VMM's, mapped from the
// memfds it passed; interrupts are the irqfds it passed (a pulse is a write
// here, never a message); timers and fd watches run on this process's own
// event thread; log lines and request_stop are messages to vmm; a level
// change, an MSI and a doorbell, which need the VM's descriptors, are calls
// to vmm over the rpc socket.
#pragma once

#include <vmm/plugin_abi.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vmm::device_host {

struct GuestRegion {
    uint64_t gpa = 0;
    uint64_t size = 0;
    bool read_only = false;
    uint8_t *host = nullptr;
};

// A timer, fd watch or doorbell the plugin registered.
struct Registration {
    enum class Kind { timer, watch, doorbell } kind = Kind::timer;
    int fd = -1;     // timerfd (owned), or the plugin's own fd (watch); -1: doorbell
    uint32_t events = 0;
    vmm_event_fn fn = nullptr;
    void *opaque = nullptr;
    uint64_t pending = 0; // timer expirations / doorbell rings held back while quiesced
    uint32_t pending_events = 0;
};

class ChildRuntime;

// The vCPU whose access the calling thread serves (its slot), else -1.
extern thread_local int32_t t_current_vcpu;

class ChildHost {
public:
    ChildHost(int channel, int rpc);
    ~ChildHost();

    const vmm_host_api &api() const;

    // Set from the init message.
    std::vector<GuestRegion> memory;
    std::vector<uint64_t> region_bases;
    uint32_t vcpu_count = 0;
    bool irqchip = false;
    // Set at realize: the irqfd of each line, -1 where the line reaches nothing.
    std::vector<int> irq_fds;
    uint32_t irq_count = 0;
    bool realized = false;

    // Every call into the plugin holds this, unless it is thread-safe.
    std::mutex plugin_mutex;
    bool thread_safe = false;

    // Channel messages sent so far (an access's answer carries it, so that
    // vmm logs a read's lines before the guest goes on).
    std::atomic<uint32_t> messages_sent{0};

    void log(uint32_t level, const std::string &text);
    void request_stop(int32_t status);
    // A call to vmm over the rpc socket; returns its status and value.
    vmm_status rpc(uint32_t type, const std::vector<uint64_t> &arguments, uint64_t *value = nullptr);

    const GuestRegion *find(uint64_t gpa, uint64_t size, bool allow_rom) const;

    ChildRuntime &runtime() { return *runtime_; }
    int channel() const { return channel_; }

private:
    int channel_;
    int rpc_;
    std::mutex send_mutex_;
    std::mutex rpc_mutex_;
    std::unique_ptr<ChildRuntime> runtime_;
};

// The event thread: timers and fd watches, muted between quiesce and resume
// (what happens meanwhile is counted and delivered after).
class ChildRuntime {
public:
    explicit ChildRuntime(ChildHost &host);
    ~ChildRuntime();
    void start();
    void stop();

    vmm_status timer_create(vmm_event_fn fn, void *opaque, uint64_t *handle);
    vmm_status timer_arm(uint64_t handle, uint64_t delay_ns, uint64_t period_ns);
    vmm_status timer_cancel(uint64_t handle);
    vmm_status fd_watch(int32_t fd, uint32_t events, vmm_event_fn fn, void *opaque, uint64_t *handle);
    vmm_status fd_watch_update(uint64_t handle, uint32_t events);
    vmm_status doorbell_add(const vmm_doorbell &doorbell, vmm_event_fn fn, void *opaque, uint64_t *handle);
    vmm_status release(uint64_t handle);
    void release_all();
    // A doorbell's rings, forwarded by vmm (on the channel thread).
    void doorbell_rang(uint64_t handle, uint64_t rings);

    void mute();
    void unmute();

private:
    void run();
    void dispatch(uint64_t handle, uint64_t detail, uint32_t events);
    void call(const std::shared_ptr<Registration> &registration, uint64_t handle, uint64_t detail);

    ChildHost &host_;
    int epoll_ = -1;
    int wake_ = -1; // eventfd: ends the thread
    std::thread thread_;
    std::mutex mutex_; // guards what follows
    std::map<uint64_t, std::shared_ptr<Registration>> registrations_;
    uint64_t next_handle_ = 1;
    bool muted_ = false;
};

} // namespace vmm::device_host
