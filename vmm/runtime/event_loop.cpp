#include "runtime/event_loop.hpp"

#include "support/errors.hpp"
#include "support/logging.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace vmm {
namespace {

constexpr uint64_t kWakeToken = 0; // registrations start at 1

} // namespace

EventLoop::EventLoop()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
    if (!epoll_.valid())
        throw SystemError(errno_message("epoll_create1", errno));
    if (!wake_.valid())
        throw SystemError(errno_message("eventfd", errno));
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = kWakeToken;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &event) < 0)
        throw SystemError(errno_message("epoll_ctl", errno));
}

EventLoop::~EventLoop() { stop(); }

void EventLoop::start()
{
    std::lock_guard lock(start_mutex_);
    launch();
}

void EventLoop::start_on_first_use()
{
    std::lock_guard lock(start_mutex_);
    start_on_add_ = true;
}

void EventLoop::launch()
{
    if (thread_.joinable())
        return;
    stopping_ = false;
    thread_ = std::thread([this] {
        thread_id_ = std::this_thread::get_id();
        run();
    });
}

void EventLoop::stop()
{
    std::lock_guard start_lock(start_mutex_);
    start_on_add_ = false;
    if (!thread_.joinable())
        return;
    stopping_ = true;
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
    thread_.join();
    thread_id_ = std::thread::id{};
}

uint64_t EventLoop::add(int fd, uint32_t epoll_events, Handler handler)
{
    // The loop's own handlers may register more (it runs then); anyone
    // else starts it if it waits for its first registration.
    if (!on_loop_thread()) {
        std::lock_guard start_lock(start_mutex_);
        if (start_on_add_)
            launch();
    }
    auto entry = std::make_shared<Entry>();
    entry->fd = fd;
    entry->handler = std::move(handler);
    std::lock_guard lock(mutex_);
    const uint64_t token = next_token_++;
    epoll_event event{};
    event.events = epoll_events;
    event.data.u64 = token;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) < 0)
        throw SystemError(errno_message("epoll_ctl(EPOLL_CTL_ADD)", errno));
    entries_.emplace(token, std::move(entry));
    return token;
}

bool EventLoop::modify(uint64_t token, uint32_t epoll_events)
{
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(token);
    if (it == entries_.end())
        return false;
    epoll_event event{};
    event.events = epoll_events;
    event.data.u64 = token;
    return ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, it->second->fd, &event) == 0;
}

void EventLoop::remove(uint64_t token)
{
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(token);
    if (it == entries_.end())
        return;
    // May fail when the owner already closed the descriptor (epoll then
    // dropped it by itself): nothing left to undo either way.
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second->fd, nullptr);
    entries_.erase(it);
}

void EventLoop::run()
{
    std::array<epoll_event, 32> events{};
    while (!stopping_.load()) {
        const int count = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), -1);
        if (count < 0) {
            if (errno == EINTR)
                continue;
            logging::core().error("event loop: {}", errno_message("epoll_wait", errno));
            return;
        }
        for (int i = 0; i < count && !stopping_.load(); ++i) {
            const uint64_t token = events[i].data.u64;
            if (token == kWakeToken)
                continue; // stopping_ is looked at above
            std::shared_ptr<Entry> entry;
            {
                std::lock_guard lock(mutex_);
                const auto it = entries_.find(token);
                if (it == entries_.end())
                    continue; // removed after epoll_wait returned it
                entry = it->second;
            }
            entry->handler(events[i].events);
        }
    }
}

} // namespace vmm
