// The VM's event loop: one thread waiting on epoll for every file descriptor
// a device's runtime asked to watch (timerfds, eventfds behind doorbells,
// the device's own descriptors), calling each one's handler in turn.
//
// It knows nothing about devices: a registration is a descriptor, the
// epoll events it waits for and a handler. The device runtime wraps the
// handler so that it runs under the device's lock (see device_runtime.hpp).
#pragma once

#include "support/unique_fd.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace vmm {

class EventLoop {
public:
    // Called with the epoll events that happened (EPOLLIN, EPOLLOUT, ...).
    using Handler = std::function<void(uint32_t epoll_events)>;

    EventLoop(); // throws SystemError when epoll or its wake-up eventfd cannot be made
    ~EventLoop();
    EventLoop(const EventLoop &) = delete;
    EventLoop &operator=(const EventLoop &) = delete;

    void start();
    // Start the thread with the first registration (add), not now: a VM
    // whose devices ask for no timer, watch or doorbell never pays for the
    // thread (start-up time; see README, "Benchmarks").
    void start_on_first_use();
    // Wakes the thread and joins it. A handler running at that moment
    // finishes first; none runs after stop() returns.
    void stop();
    bool on_loop_thread() const { return std::this_thread::get_id() == thread_id_.load(); }

    // Registers `fd` for `epoll_events` (0: registered, waiting for nothing).
    // Returns a token for modify/remove. Throws SystemError if epoll refuses.
    uint64_t add(int fd, uint32_t epoll_events, Handler handler);
    // False when epoll refused (the descriptor was closed behind our back).
    bool modify(uint64_t token, uint32_t epoll_events);
    // After it returns the handler is not called again (a call already in
    // progress on the loop thread may still be finishing: callers that need
    // more exclude it themselves, see DeviceRuntime).
    void remove(uint64_t token);

private:
    struct Entry {
        int fd = -1;
        Handler handler;
    };
    void run();
    void launch(); // under start_mutex_: the thread, unless it runs

    UniqueFd epoll_;
    UniqueFd wake_;
    std::mutex mutex_;
    std::map<uint64_t, std::shared_ptr<Entry>> entries_;
    uint64_t next_token_ = 1;
    std::atomic<bool> stopping_{false};
    std::mutex start_mutex_; // around starting and joining the thread
    bool start_on_add_ = false;
    std::thread thread_;
    std::atomic<std::thread::id> thread_id_{};
};

} // namespace vmm
