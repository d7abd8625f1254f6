// simvirtio: the SIMVIRTIO device of the SO2 assignment (seed 001), a
// simplified virtio: a config space, a TX and an RX byte ring, a handshake
// ('R', DRIVER_ACK, 'C', DRIVER_OK), a device table in guest RAM; TX data
// goes to stdout, RX carries a greeting.
//
// State: experimental (protocol 1.1 as README.md specifies it).
// Missing: input other than the greeting, more than one TX/RX queue pair.
// Ignored bits: queue control bits 1..7; driver status bits 0..6 are only
//          checked against the valid values (bit 7 is the reset request).
// Documentation: README.md next to this file (the full protocol); the SO2
//          assignment "SIMVIRTIO" section (seed 001) it extends.
//
// This file is only the SDK glue: settings, the mutex, the output
// (output_sink.hpp), the poll thread, and in doorbell mode the two
// doorbells and a retry timer on the VM's event loop; the RX interrupt. The protocol is simvirtio::Device (simvirtio_core.hpp),
// which depends on nothing but three small interfaces.
//
// Threads: vCPU threads call read/write (the plugin is declared thread-safe
// so several vCPUs may), and in poll mode a device thread polls the
// control blocks in guest RAM. One mutex serializes all of them around the
// core. The poll thread spins briefly after finding work, then sleeps
// between passes: 20 us while work came recently, else doubling to 1 ms
// (timings below). The destructor stops it, joins it and drains what TX
// still holds, so no output is lost when the VM stops.
#include "output_sink.hpp"
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

constexpr const char *kNotifyModes[] = {"exit", "poll", "doorbell", nullptr};
constexpr vmm_config_key kNotifyKey = vmm::sdk::with_choices(
    vmm::sdk::with_default(
        vmm::sdk::string_key("notify", "\"exit\" (control blocks are MMIO registers), \"poll\" "
                                       "(control blocks in guest RAM, polled by a device thread) or \"doorbell\" "
                                       "(control blocks in guest RAM, TX/RX doorbell registers absorbed by KVM)"),
        "exit"),
    kNotifyModes);
constexpr vmm_config_key kMaxQueueLengthKey =
    vmm::sdk::with_range(vmm::sdk::with_default(vmm::sdk::int_key("max_queue_length",
                                                                  "largest queue length the driver may configure"),
                                                "4096"),
                         2, 65535);
constexpr vmm_config_key kGreetingKey =
    vmm::sdk::with_default(vmm::sdk::string_key("greeting", "bytes the device sends on RX once READY"), "");
constexpr vmm_config_key kOutputKey =
    vmm::sdk::with_default(vmm::sdk::socket_key("output",
                                                "where TX data goes: \"stdout\", \"discard\", \"file:PATH\" or "
                                                "\"unix:PATH\" (a listening UNIX stream socket)"),
                           "stdout");

constexpr std::array kKeys = {
    vmm::sdk::int_key("device_table", "guest-physical address of the guest's device_table_t (8-byte aligned); "
                                      "default: none, the driver writes it to the DEVICE_TABLE register"),
    kNotifyKey,
    kGreetingKey,
    kMaxQueueLengthKey,
    kOutputKey,
};

// The default region: where a driver looks when nothing tells it (README,
// "Discovery"). An `mmio = ` line in the machine file moves it.
constexpr std::array kRegions = {vmm::sdk::mmio_region(0xd0000000, 0x1000)};
// One optional edge line: pulsed when the device put bytes on RX. No
// default; on a machine with an irqchip, `irq = N` places it.
constexpr std::array kIrqs = {vmm::sdk::edge_irq(VMM_IRQ_NO_DEFAULT)};

class HostRam final : public simvirtio::GuestRam {
public:
    explicit HostRam(const Host &host) : host_(host) {}
    uint8_t *map(uint64_t gpa, uint64_t size) override { return static_cast<uint8_t *>(host_.map_guest(gpa, size)); }

private:
    Host host_;
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

    if (const auto table = settings.get_int("device_table")) {
        if (*table < 0 || *table % 8 != 0)
            throw ConfigError("device_table must be a non-negative, 8-byte aligned guest-physical address, got " +
                              std::to_string(*table));
        config.device_table = static_cast<uint64_t>(*table);
    }

    const std::string notify = settings.get_string(kNotifyKey).value();
    if (notify == "exit")
        config.notify = simvirtio::kNotifyExit;
    else if (notify == "poll")
        config.notify = simvirtio::kNotifyPoll;
    else if (notify == "doorbell")
        config.notify = simvirtio::kNotifyDoorbell;
    else
        throw ConfigError("notify must be \"exit\", \"poll\" or \"doorbell\", got \"" + notify + "\"");

    const int64_t max_length = settings.get_int(kMaxQueueLengthKey).value();
    if (max_length < 2 || max_length > 0xffff)
        throw ConfigError("max_queue_length must be 2..65535, got " + std::to_string(max_length));
    config.max_queue_length = static_cast<uint32_t>(max_length);

    config.greeting = settings.get_string(kGreetingKey).value();

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
// Doorbell mode: how soon TX is tried again when the output had no room.
constexpr std::chrono::microseconds kBacklogRetry{1000};

class SimVirtio final : public vmm::sdk::Device {
public:
    static PluginInfo plugin_info()
    {
        PluginInfo info;
        info.name = "simvirtio";
        info.version = "1.1.0";
        info.description = "SIMVIRTIO (SO2 assignment): TX/RX byte rings with a handshake; notify by exit, poll or "
                           "doorbell; TX to stdout, a file or a socket";
        info.config_keys = kKeys;
        info.default_regions = kRegions;
        info.default_irqs = kIrqs;
        info.thread_safe = true; // it locks itself: vCPU threads and its poll thread
        return info;
    }

    explicit SimVirtio(const DeviceContext &context)
        : Device(context), ram_(context.host()),
          sink_(context.host(), context.settings().get_string(kOutputKey).value()), log_(context.host()),
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
        if (core_.doorbell_mode()) {
            // A last ring the event loop did not get to before the stop.
            for (int i = 0; i < 1000 && poll_once(); ++i) {
            }
        }
    }

    void realize(vmm::sdk::Runtime &runtime) override
    {
        if (!runtime.available())
            return; // an older host: doorbells come as exits, no interrupt
        std::lock_guard<std::mutex> lock(mutex_);
        rx_irq_ = runtime.irq(0);
        if (!core_.doorbell_mode())
            return;
        // The two doorbells, for the 4-byte writes a driver makes: KVM
        // absorbs them (ioeventfd) and the event loop runs a pass. Other
        // sizes still reach write() as exits and do the same there.
        tx_bell_ = runtime.doorbell(0, simvirtio::reg::kTxNotify, 4, std::nullopt, [this](uint64_t) { pass(); });
        rx_bell_ = runtime.doorbell(0, simvirtio::reg::kRxNotify, 4, std::nullopt, [this](uint64_t) { pass(); });
        // While the output holds TX back, nothing else would ring: retry.
        retry_ = runtime.timer([this](uint64_t) { pass(); });
    }

    void read(uint32_t, uint64_t offset, std::span<uint8_t> data) override
    {
        std::lock_guard<std::mutex> lock(mutex_);
        const uint64_t fills = core_.rx_fills();
        core_.read(offset, data);
        after(fills);
    }

    void write(uint32_t, uint64_t offset, std::span<const uint8_t> data) override
    {
        std::lock_guard<std::mutex> lock(mutex_);
        const uint64_t fills = core_.rx_fills();
        core_.write(offset, data);
        after(fills);
    }

private:
    bool poll_once()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        const uint64_t fills = core_.rx_fills();
        const bool moved = core_.poll();
        after(fills);
        return moved;
    }

    // Doorbell mode: a doorbell rang, or the retry timer fired.
    void pass()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        const uint64_t fills = core_.rx_fills();
        core_.poll();
        after(fills);
        if (retry_ && core_.tx_backlogged())
            retry_.arm(kBacklogRetry.count() * 1000);
    }

    // Under mutex_, after every call into the core: bytes put on RX pulse
    // the RX interrupt (an irqfd write; nothing when no irqchip or no line).
    void after(uint64_t fills_before)
    {
        if (rx_irq_ && core_.rx_fills() != fills_before) {
            try {
                rx_irq_.pulse();
            } catch (const vmm::sdk::RuntimeError &e) {
                host().logf(vmm::sdk::LogLevel::debug, "RX interrupt not sent: %s", e.what());
            }
        }
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
    simvirtio_plugin::OutputSink sink_;
    HostLog log_;
    std::mutex mutex_; // around core_
    simvirtio::Device core_;

    std::thread poller_;
    std::mutex wake_mutex_;
    std::condition_variable wake_;
    std::atomic<bool> stop_{false}; // set under wake_mutex_, so a sleeping poller cannot miss it

    vmm::sdk::InterruptLine rx_irq_;
    vmm::sdk::Doorbell tx_bell_, rx_bell_;
    vmm::sdk::Timer retry_;
};

} // namespace

VMM_PLUGIN(SimVirtio)
