// vmm's side of one isolated device: the child process running the plugin
// (vmm-device-host), the access slots, the two sockets and the thread that
// reads them and watches the child's pidfd. To the rest of the core it is an
// ordinary instance: DeviceInstance calls it through the proxy descriptor
// (isolated_plugin.cpp) exactly as it calls an in-process plugin.
//
// When the child dies (a signal, an exit, a sandbox violation, a protocol
// error, an access unanswered within the time limit) the reader thread names
// the device, the plugin and how it died, and applies on_crash: stop the VM
// (status 3), detach the device (its ranges read as all ones), or restart it
// (a new child, from the last state blob it had, counted and rate-limited).
#pragma once

#include "config/isolation_options.hpp"
#include "isolation/observer_rings.hpp"
#include "isolation/wire.hpp"

#include <vmm/plugin_abi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

struct vmm_host_context;

namespace vmm {

class IsolatedDevice {
public:
    // Starts the child and creates the instance there; throws InputError
    // with the plugin's logged reason (or how the child failed).
    // `observer`: the plugin observes exits; its events go through the
    // rings of observer_rings.hpp.
    IsolatedDevice(const vmm_device_create_info &info, IsolationOptions options, bool observer = false);
    ~IsolatedDevice(); // destroy in the child (bounded), then kill and reap it

    vmm_status read(uint32_t region, uint64_t offset, void *data, uint32_t size);
    vmm_status write(uint32_t region, uint64_t offset, const void *data, uint32_t size);
    vmm_status realize();
    vmm_status quiesce();
    vmm_status resume();
    vmm_status save_state(void *buffer, uint64_t capacity, uint64_t *size);
    vmm_status load_state(const void *data, uint64_t size);
    // An exit, for an observer: written into the vCPU's ring, never waited for.
    void observe(const vmm_exit_event &event);

    uint32_t restarts() const { return restarts_.load(); }

private:
    struct Child;
    void shut_down(); // destroy in the child (bounded), then kill and reap it
    std::shared_ptr<Child> spawn();
    void initialize(Child &child);
    vmm_status access(uint32_t op, uint32_t region, uint64_t offset, uint8_t *data, uint32_t size);
    // A lifecycle request and its reply; nothing when the child died first.
    std::optional<isolation::Message> call(const isolation::Writer &request, const std::vector<int> &fds = {},
                                std::chrono::milliseconds limit = std::chrono::seconds(10));
    void serve(std::shared_ptr<Child> child); // the reader thread
    bool handle_message(Child &child, isolation::Message &message);
    bool handle_rpc(Child &child, isolation::Message &message);
    void died(Child &child);
    void restart();
    isolation::Writer realize_message(std::vector<int> &fds);
    void attach_rings();            // hands the observer's rings to the current child; throws
    bool flush_rings(Child &child); // every event delivered (before destroy); false: it did not answer
    void report_drops();
    std::shared_ptr<Child> current() const;
    void log(uint32_t level, const std::string &text);
    std::string who() const;

    IsolationOptions options_;
    vmm_host_context *host_;
    const vmm_host_api *api_;
    std::string name_;
    std::string plugin_name_;
    isolation::Writer init_message_{isolation::msg_init};
    uint32_t slot_count_ = 1;
    // Files vmm opened for the plugin's path settings, passed to every child
    // (a restarted one too); closed when the device is destroyed.
    std::vector<int> passed_fds_;
    std::vector<std::pair<std::string, std::string>> string_settings_; // key, value

    mutable std::mutex child_mutex_;
    std::shared_ptr<Child> child_;
    std::vector<std::shared_ptr<Child>> retired_; // dead children whose reader thread may still run
    std::thread reader_;
    std::atomic<bool> destroying_{false};
    std::atomic<bool> detached_{false};
    std::atomic<uint32_t> restarts_{0};
    std::deque<std::chrono::steady_clock::time_point> restart_times_;
    std::atomic<bool> realized_{false};
    std::optional<std::vector<uint8_t>> last_state_;
    std::vector<uint8_t> saved_blob_; // between save_state's two calls

    // An isolated observer's event rings; they outlive each child, so a
    // restarted one takes the events its predecessor had not consumed.
    std::unique_ptr<ObserverRings> rings_;
    std::atomic<bool> drop_logged_{false};
    std::atomic<bool> violation_handled_{false};

    // Replies and processed messages, from the reader thread to callers.
    std::mutex reply_mutex_;
    std::condition_variable reply_ready_;
    std::optional<isolation::Message> reply_;
    uint32_t messages_processed_ = 0;

    // Doorbells the child registered: its handle -> the runtime's.
    struct DoorbellForward {
        IsolatedDevice *device;
        uint64_t child_handle;
    };
    std::mutex doorbell_mutex_;
    std::map<uint64_t, std::pair<uint64_t, std::unique_ptr<DoorbellForward>>> doorbells_;
    static void doorbell_rang(void *opaque, uint64_t handle, uint64_t rings);
};

} // namespace vmm
