// simvirtio: the SIMVIRTIO device of the SO2 assignment (seed 001), a
// simplified virtio: a config space, a TX and an RX byte ring, a handshake
// ('R', DRIVER_ACK, 'C', DRIVER_OK), a device table in guest RAM; TX data
// goes to stdout, RX carries a greeting.
//
// State: experimental (protocol 1.0 as README.md specifies it).
// Missing: interrupts (the ABI has no IRQ lines; the driver polls), input
//          other than the greeting, more than one TX/RX queue pair.
// Ignored bits: queue control bits 1..7; driver status bits 0..6 are only
//          checked against the valid values (bit 7 is the reset request).
// Documentation: README.md next to this file (the full protocol); the SO2
//          assignment "SIMVIRTIO" section (seed 001) it extends.
//
// This file is only the SDK glue: settings, the mutex, the stdout sink and
// the poll thread. The protocol is simvirtio::Device (simvirtio_core.hpp),
// which depends on nothing but three small interfaces.
//
// Threads: vCPU threads call read/write (the plugin is declared thread-safe
// so several vCPUs may), and in poll mode a device thread polls the
// control blocks in guest RAM. One mutex serializes all of them around the
// core. The poll thread spins briefly after finding work, then sleeps
// between passes: 20 us while work came recently, else doubling to 1 ms
// (timings below). The destructor stops it, joins it and drains what TX
// still holds, so no output is lost when the VM stops.
#include "simvirtio_core.hpp"

#include <vmm/sdk.hpp>

#include <sys/prctl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace {

using vmm::sdk::ConfigError;
using vmm::sdk::DeviceContext;
using vmm::sdk::Host;
using vmm::sdk::PluginInfo;

constexpr std::array kKeys = {
    vmm::sdk::int_key("device_table", "guest-physical address of the guest's device_table_t (8-byte aligned)", true),
    vmm::sdk::string_key("notify", "\"exit\" (control blocks are MMIO registers; default) or \"poll\" "
                                   "(control blocks in guest RAM, polled by a device thread)"),
    vmm::sdk::string_key("greeting", "bytes the device sends on RX once READY (default: none)"),
    vmm::sdk::int_key("max_queue_length", "largest queue length the driver may configure, 2..65535 (default 4096)"),
};

class HostRam final : public simvirtio::GuestRam {
public:
    explicit HostRam(const Host &host) : host_(host) {}
    uint8_t *map(uint64_t gpa, uint64_t size) override { return static_cast<uint8_t *>(host_.map_guest(gpa, size)); }

private:
    Host host_;
};

// stdout, unbuffered: one write(2) per batch (repeated only for a partial
// write or EINTR); the first failure is logged, later output is dropped.
class StdoutSink final : public simvirtio::OutputSink {
public:
    explicit StdoutSink(const Host &host) : stdout_(host) {}
    void write(std::span<const uint8_t> bytes) override { stdout_.write(bytes.data(), bytes.size()); }

private:
    vmm::sdk::StdoutWriter stdout_;
};

class HostLog final : public simvirtio::Log {
public:
    explicit HostLog(const Host &host) : host_(host) {}
    void log(simvirtio::LogLevel level, const std::string &message) override
    {
        using vmm::sdk::LogLevel;
        host_.log(level == simvirtio::LogLevel::warn   ? LogLevel::warn
                  : level == simvirtio::LogLevel::info ? LogLevel::info
                                                       : LogLevel::debug,
                  message);
    }

private:
    Host host_;
};

simvirtio::Config read_config(const DeviceContext &context)
{
    const auto &settings = context.settings();
    simvirtio::Config config;

    const auto table = settings.get_int("device_table");
    if (!table)
        throw ConfigError("the setting device_table (the guest's device table address) is required");
    if (*table < 0 || *table % 8 != 0)
        throw ConfigError("device_table must be a non-negative, 8-byte aligned guest-physical address, got " +
                          std::to_string(*table));
    config.device_table = static_cast<uint64_t>(*table);

    const std::string notify = settings.get_string("notify", "exit");
    if (notify != "exit" && notify != "poll")
        throw ConfigError("notify must be \"exit\" or \"poll\", got \"" + notify + "\"");
    config.poll = notify == "poll";

    const int64_t max_length = settings.get_int("max_queue_length", 4096);
    if (max_length < 2 || max_length > 0xffff)
        throw ConfigError("max_queue_length must be 2..65535, got " + std::to_string(max_length));
    config.max_queue_length = static_cast<uint32_t>(max_length);

    config.greeting = settings.get_string("greeting", "");

    context.require_regions(vmm::sdk::Space::mmio, 1, simvirtio::reg::kSpaceSize);
    const auto base = context.host().region_address(0);
    if (!base)
        throw ConfigError("this host cannot tell the device its MMIO address (needs plugin ABI 1.1: region_address)");
    config.own_address = *base;
    return config;
}

// Poll thread timing. After finding work it keeps polling for kSpinWindow;
// while work came within kActiveWindow it then sleeps kShortSleep between
// passes (a driver streaming data, busy between batches); after that the
// sleeps double up to kLongestSleep (an idle driver costs ~1000 wakeups/s).
constexpr std::chrono::microseconds kSpinWindow{50};
constexpr std::chrono::microseconds kShortSleep{20};
constexpr std::chrono::microseconds kActiveWindow{20000};
constexpr std::chrono::microseconds kLongestSleep{1000};

class SimVirtio final : public vmm::sdk::Device {
public:
    static PluginInfo plugin_info()
    {
        PluginInfo info;
        info.name = "simvirtio";
        info.version = "1.0.0";
        info.description = "SIMVIRTIO (SO2 assignment): TX/RX byte rings with a handshake; TX to stdout";
        info.config_keys = kKeys;
        info.thread_safe = true; // it locks itself: vCPU threads and its poll thread
        return info;
    }

    explicit SimVirtio(const DeviceContext &context)
        : Device(context), ram_(context.host()), sink_(context.host()), log_(context.host()),
          core_(read_config(context), ram_, sink_, log_)
    {
        if (core_.poll_mode())
            poller_ = std::thread([this] { poll_loop(); });
    }

    ~SimVirtio() override
    {
        if (poller_.joinable()) {
            {
                std::lock_guard<std::mutex> lock(wake_mutex_);
                stop_.store(true, std::memory_order_release);
            }
            wake_.notify_all();
            poller_.join();
        }
    }

    void read(uint32_t, uint64_t offset, std::span<uint8_t> data) override
    {
        std::lock_guard<std::mutex> lock(mutex_);
        core_.read(offset, data);
    }

    void write(uint32_t, uint64_t offset, std::span<const uint8_t> data) override
    {
        std::lock_guard<std::mutex> lock(mutex_);
        core_.write(offset, data);
    }

private:
    bool poll_once()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return core_.poll();
    }

    void poll_loop()
    {
        using Clock = std::chrono::steady_clock;
        // Sleeps of tens of microseconds: without this the kernel may add
        // its default 50 us of timer slack to each.
        ::prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
        auto last_work = Clock::now();
        std::chrono::microseconds sleep{0};
        while (!stop_.load(std::memory_order_acquire)) {
            if (poll_once()) {
                last_work = Clock::now();
                sleep = std::chrono::microseconds{0};
                continue;
            }
            const auto idle = Clock::now() - last_work;
            if (idle < kSpinWindow) {
                __builtin_ia32_pause();
                continue;
            }
            if (idle < kActiveWindow)
                sleep = kShortSleep;
            else
                sleep = std::clamp<std::chrono::microseconds>(sleep * 2, kShortSleep, kLongestSleep);
            std::unique_lock<std::mutex> lock(wake_mutex_);
            wake_.wait_for(lock, sleep, [this] { return stop_.load(std::memory_order_acquire); });
        }
        // The vCPUs have stopped: whatever TX still holds goes out now.
        for (int i = 0; i < 1000 && poll_once(); ++i) {
        }
    }

    HostRam ram_;
    StdoutSink sink_;
    HostLog log_;
    std::mutex mutex_; // around core_
    simvirtio::Device core_;

    std::thread poller_;
    std::mutex wake_mutex_;
    std::condition_variable wake_;
    std::atomic<bool> stop_{false}; // set under wake_mutex_, so a sleeping poller cannot miss it
};

} // namespace

VMM_PLUGIN(SimVirtio)
