// The device runtime without KVM: timers, watches, the phases in which a
// device may use them, quiescence and release, driven through DeviceRuntime
// on a real event loop, as the C entry points drive it.
#include "wait_for.hpp"
#include "capture.hpp"
#include "runtime/device_runtime.hpp"
#include "runtime/event_loop.hpp"
#include "support/logging.hpp"
#include "support/unique_fd.hpp"

#include <catch2/catch.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <chrono>
#include <mutex>
#include <thread>

using namespace vmm;
using namespace std::chrono_literals;

using vmm::test::wait_for;

namespace {

// A device runtime on a running loop, with the lock its callbacks must hold.
struct Rig {
    EventLoop loop;
    std::mutex device_lock;
    DeviceRuntime runtime;

    explicit Rig(std::vector<std::optional<uint32_t>> lines = {})
        : runtime("dev", "plugin-x", logging::make_logger("dev"), {{Space::pio, 0x500, 16}}, std::move(lines),
                  [this] { return std::unique_lock<std::mutex>(device_lock); })
    {
        loop.start();
    }
    void realize() { runtime.begin_realize(RuntimeServices{&loop, nullptr, -1}); }
    ~Rig()
    {
        loop.stop();
        runtime.begin_destroy();
        runtime.release_all();
    }
};

// What a callback saw, and whether it ran under the device's lock.
struct Seen {
    std::mutex *device_lock = nullptr;
    std::atomic<uint64_t> calls{0};
    std::atomic<uint64_t> total{0};
    std::atomic<uint64_t> last_detail{0};
    std::atomic<bool> lock_was_free{false};
    uint64_t release_handle = 0;
    DeviceRuntime *release_from = nullptr;

    static void callback(void *opaque, uint64_t handle, uint64_t detail)
    {
        auto *seen = static_cast<Seen *>(opaque);
        if (seen->device_lock->try_lock()) {
            seen->lock_was_free = true;
            seen->device_lock->unlock();
        }
        seen->last_detail = detail;
        seen->total += detail;
        ++seen->calls;
        if (seen->release_from != nullptr && handle == seen->release_handle)
            seen->release_from->release(handle);
    }
};

} // namespace

TEST_CASE("runtime services are refused before realize, with a line naming the plugin and the service",
          "[runtime]")
{
    Rig rig;
    Seen seen;
    seen.device_lock = &rig.device_lock;
    uint64_t handle = 0;
    test::Capture err(STDERR_FILENO);
    const vmm_status status = rig.runtime.timer_create(&Seen::callback, &seen, &handle);
    const vmm_status pulse = rig.runtime.irq_pulse(0);
    const std::string text = err.finish();
    CHECK(status == VMM_ERROR_UNSUPPORTED);
    CHECK(pulse == VMM_ERROR_UNSUPPORTED);
    CHECK(handle == 0);
    CHECK_THAT(text, Catch::Contains("[dev] error: plugin 'plugin-x' called timer_create before realize: refused "
                                     "(runtime services work from realize until destroy)"));
    CHECK_THAT(text, Catch::Contains("plugin 'plugin-x' called irq_pulse before realize: refused"));
}

TEST_CASE("runtime services are refused from destroy on, release still works", "[runtime]")
{
    Rig rig;
    rig.realize();
    Seen seen;
    seen.device_lock = &rig.device_lock;
    uint64_t handle = 0;
    REQUIRE(rig.runtime.timer_create(&Seen::callback, &seen, &handle) == VMM_OK);
    rig.runtime.begin_destroy();
    test::Capture err(STDERR_FILENO);
    uint64_t late = 0;
    const vmm_status status = rig.runtime.timer_create(&Seen::callback, &seen, &late);
    const std::string text = err.finish();
    CHECK(status == VMM_ERROR_UNSUPPORTED);
    CHECK_THAT(text, Catch::Contains("plugin 'plugin-x' called timer_create during or after destroy: refused"));
    CHECK(rig.runtime.release(handle) == VMM_OK);
    CHECK(rig.runtime.release(handle) == VMM_ERROR_INVALID); // once only
}

TEST_CASE("a one-shot timer fires once, under the device's lock", "[runtime]")
{
    Rig rig;
    rig.realize();
    Seen seen;
    seen.device_lock = &rig.device_lock;
    uint64_t handle = 0;
    REQUIRE(rig.runtime.timer_create(&Seen::callback, &seen, &handle) == VMM_OK);
    REQUIRE(rig.runtime.timer_arm(handle, 1'000'000, 0) == VMM_OK);
    REQUIRE(wait_for([&] { return seen.calls.load() == 1; }));
    std::this_thread::sleep_for(20ms);
    CHECK(seen.calls.load() == 1);
    CHECK(seen.last_detail.load() == 1);
    CHECK_FALSE(seen.lock_was_free.load());
}

TEST_CASE("a periodic timer counts every expiration; cancel stops it; re-arming restarts it", "[runtime]")
{
    Rig rig;
    rig.realize();
    Seen seen;
    seen.device_lock = &rig.device_lock;
    uint64_t handle = 0;
    REQUIRE(rig.runtime.timer_create(&Seen::callback, &seen, &handle) == VMM_OK);
    REQUIRE(rig.runtime.timer_arm(handle, 0, 1'000'000) == VMM_OK); // 1 kHz
    REQUIRE(wait_for([&] { return seen.total.load() >= 20; }));
    {
        // While the device's lock is held (a vCPU in read/write), no callback runs.
        std::lock_guard held(rig.device_lock);
        const uint64_t calls = seen.calls.load();
        std::this_thread::sleep_for(10ms);
        CHECK(seen.calls.load() == calls);
        CHECK(rig.runtime.timer_cancel(handle) == VMM_OK);
    }
    const uint64_t after_cancel = seen.total.load();
    std::this_thread::sleep_for(20ms);
    CHECK(seen.total.load() == after_cancel); // expirations pending at cancel were dropped
    REQUIRE(rig.runtime.timer_arm(handle, 1'000'000, 0) == VMM_OK);
    REQUIRE(wait_for([&] { return seen.total.load() == after_cancel + 1; }));
    CHECK(rig.runtime.timer_arm(handle + 1000, 1, 0) == VMM_ERROR_INVALID); // not a timer of ours
}

TEST_CASE("expirations while a device is quiescent are delivered after it resumes", "[runtime]")
{
    Rig rig;
    rig.realize();
    Seen seen;
    seen.device_lock = &rig.device_lock;
    uint64_t handle = 0;
    REQUIRE(rig.runtime.timer_create(&Seen::callback, &seen, &handle) == VMM_OK);
    rig.runtime.mute();
    CHECK(rig.runtime.phase() == DevicePhase::quiescent);
    REQUIRE(rig.runtime.timer_arm(handle, 1'000'000, 0) == VMM_OK);
    std::this_thread::sleep_for(30ms);
    CHECK(seen.calls.load() == 0);
    rig.runtime.unmute();
    CHECK(rig.runtime.phase() == DevicePhase::realized);
    REQUIRE(wait_for([&] { return seen.calls.load() == 1; }));
}

TEST_CASE("a callback may release its own registration", "[runtime]")
{
    Rig rig;
    rig.realize();
    Seen seen;
    seen.device_lock = &rig.device_lock;
    seen.release_from = &rig.runtime;
    uint64_t handle = 0;
    REQUIRE(rig.runtime.timer_create(&Seen::callback, &seen, &handle) == VMM_OK);
    seen.release_handle = handle;
    REQUIRE(rig.runtime.timer_arm(handle, 0, 1'000'000) == VMM_OK);
    REQUIRE(wait_for([&] { return seen.calls.load() == 1; }));
    std::this_thread::sleep_for(20ms);
    CHECK(seen.calls.load() == 1);
    CHECK(rig.runtime.release(handle) == VMM_ERROR_INVALID); // already gone
}

TEST_CASE("a watch reports readable data and the peer's hang-up; update(0) pauses it", "[runtime]")
{
    Rig rig;
    rig.realize();
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    struct Reader {
        std::mutex *device_lock;
        int fd;
        std::atomic<uint64_t> bytes{0};
        std::atomic<bool> hangup{false};
        static void callback(void *opaque, uint64_t, uint64_t events)
        {
            auto *r = static_cast<Reader *>(opaque);
            if (events & VMM_FD_READABLE) {
                char buffer[64];
                const ssize_t n = ::read(r->fd, buffer, sizeof buffer);
                if (n > 0)
                    r->bytes += static_cast<uint64_t>(n);
            }
            if (events & VMM_FD_HANGUP)
                r->hangup = true;
        }
    } reader{&rig.device_lock, pipe_fds[0]};
    uint64_t handle = 0;
    REQUIRE(rig.runtime.fd_watch(pipe_fds[0], VMM_FD_READABLE, &Reader::callback, &reader, &handle) == VMM_OK);
    REQUIRE(::write(pipe_fds[1], "hello", 5) == 5);
    REQUIRE(wait_for([&] { return reader.bytes.load() == 5; }));
    REQUIRE(rig.runtime.fd_watch_update(handle, 0) == VMM_OK);
    REQUIRE(::write(pipe_fds[1], "more", 4) == 4);
    std::this_thread::sleep_for(20ms);
    CHECK(reader.bytes.load() == 5);
    REQUIRE(rig.runtime.fd_watch_update(handle, VMM_FD_READABLE) == VMM_OK);
    REQUIRE(wait_for([&] { return reader.bytes.load() == 9; }));
    ::close(pipe_fds[1]);
    REQUIRE(wait_for([&] { return reader.hangup.load(); }));
    CHECK(rig.runtime.release(handle) == VMM_OK);
    ::close(pipe_fds[0]);
}

TEST_CASE("bad watches are refused: a closed descriptor, unknown events, a regular file", "[runtime]")
{
    Rig rig;
    rig.realize();
    Seen seen;
    seen.device_lock = &rig.device_lock;
    uint64_t handle = 0;
    CHECK(rig.runtime.fd_watch(-1, VMM_FD_READABLE, &Seen::callback, &seen, &handle) == VMM_ERROR_INVALID);
    CHECK(rig.runtime.fd_watch(1000000, VMM_FD_READABLE, &Seen::callback, &seen, &handle) == VMM_ERROR_INVALID);
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    CHECK(rig.runtime.fd_watch(pipe_fds[0], 0x80, &Seen::callback, &seen, &handle) == VMM_ERROR_INVALID);
    char name[] = "/tmp/vmm-runtime-XXXXXX";
    const int file = ::mkstemp(name);
    REQUIRE(file >= 0);
    ::unlink(name);
    test::Capture err(STDERR_FILENO);
    const vmm_status status = rig.runtime.fd_watch(file, VMM_FD_READABLE, &Seen::callback, &seen, &handle);
    const std::string text = err.finish();
    CHECK(status == VMM_ERROR_INVALID);
    CHECK_THAT(text, Catch::Contains("fd_watch of descriptor"));
    ::close(file);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}

TEST_CASE("lines that reach no controller accept raise and pulse; lines the device lacks are refused",
          "[runtime]")
{
    Rig rig({std::nullopt});
    rig.realize();
    CHECK(rig.runtime.irq_count() == 1);
    CHECK(rig.runtime.irq_set_level(0, 1) == VMM_OK);
    CHECK(rig.runtime.irq_pulse(0) == VMM_OK);
    CHECK(rig.runtime.irq_eventfd(0) == -1);
    CHECK(rig.runtime.irq_set_level(1, 1) == VMM_ERROR_RANGE);
    CHECK(rig.runtime.irq_pulse(7) == VMM_ERROR_RANGE);
    CHECK(rig.runtime.msi_send(0xfee00000, 0x30) == VMM_ERROR_UNSUPPORTED); // no irqchip
}

TEST_CASE("doorbells are checked against the device's region before KVM sees them", "[runtime]")
{
    Rig rig;
    rig.realize();
    Seen seen;
    seen.device_lock = &rig.device_lock;
    uint64_t handle = 0;
    const auto bell = [](uint32_t region, uint64_t offset, uint32_t size) {
        vmm_doorbell d{};
        d.struct_size = sizeof d;
        d.region = region;
        d.offset = offset;
        d.size = size;
        return d;
    };
    test::Capture err(STDERR_FILENO);
    CHECK(rig.runtime.doorbell_add(bell(1, 0, 4), &Seen::callback, &seen, &handle) == VMM_ERROR_RANGE);
    CHECK(rig.runtime.doorbell_add(bell(0, 14, 4), &Seen::callback, &seen, &handle) == VMM_ERROR_RANGE);
    CHECK(rig.runtime.doorbell_add(bell(0, 0, 8), &Seen::callback, &seen, &handle) == VMM_ERROR_INVALID); // PIO
    CHECK(rig.runtime.doorbell_add(bell(0, 0, 3), &Seen::callback, &seen, &handle) == VMM_ERROR_INVALID);
    vmm_doorbell wide = bell(0, 0, 1);
    wide.flags = VMM_DOORBELL_MATCH_VALUE;
    wide.value = 0x100;
    CHECK(rig.runtime.doorbell_add(wide, &Seen::callback, &seen, &handle) == VMM_ERROR_INVALID);
    const std::string text = err.finish();
    CHECK_THAT(text, Catch::Contains("doorbell_add: region 1 does not exist (the device has 1)"));
    CHECK_THAT(text, Catch::Contains("doorbell_add: 4 byte(s) at offset 0xe lie outside region 0 (pio 0x10 bytes)"));
    CHECK_THAT(text, Catch::Contains("doorbell_add: a doorbell of 8 bytes in a pio region (sizes: 1, 2, 4)"));
    CHECK(handle == 0);
}

namespace {

std::size_t thread_count()
{
    std::size_t count = 0;
    for ([[maybe_unused]] const auto &entry : std::filesystem::directory_iterator("/proc/self/task"))
        ++count;
    return count;
}

} // namespace

TEST_CASE("event loop: started on first use, its thread exists only from the first registration", "[runtime]")
{
    const std::size_t before = thread_count();
    EventLoop loop;
    loop.start_on_first_use();
    CHECK(thread_count() == before); // a VM whose devices register nothing has no loop thread

    std::atomic<int> calls{0};
    UniqueFd event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    REQUIRE(event.valid());
    loop.add(event.get(), EPOLLIN, [&](uint32_t) {
        uint64_t value = 0;
        [[maybe_unused]] const ssize_t n = ::read(event.get(), &value, sizeof value);
        ++calls;
    });
    CHECK(thread_count() == before + 1);
    const uint64_t one = 1;
    REQUIRE(::write(event.get(), &one, sizeof one) == sizeof one);
    CHECK(wait_for([&] { return calls.load() == 1; }));

    loop.stop();
    CHECK(thread_count() == before);
    // After a stop, a registration does not bring the thread back.
    UniqueFd late(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    loop.add(late.get(), EPOLLIN, [](uint32_t) {});
    CHECK(thread_count() == before);
}
