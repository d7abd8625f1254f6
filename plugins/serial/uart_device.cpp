#include "uart_device.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace uart {
namespace {

uint64_t monotonic_ns()
{
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now); // the host timers' clock too
    return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(now.tv_nsec);
}

} // namespace

UartDevice::UartDevice(const vmm::sdk::DeviceContext &context, std::string output_name)
    : Device(context), out_(host(), std::move(output_name)), uart_(port())
{
    context.require_regions(vmm::sdk::Space::pio, 1, reg::kCount);
    const auto &settings = context.settings();
    spec_ = InputSpec::parse(settings.get_string(kInputFromKey).value());
    spec_.check();
    if (spec_.kind != InputSpec::Kind::none)
        input_.emplace(spec_);
    const std::string input = settings.get_string(kInputKey).value();
    uart_.queue_input(std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(input.data()), input.size()));
}

UartDevice::~UartDevice()
{
    if (uart_.tx_dropped() > 0)
        host().warn("%llu bytes the guest wrote while the transmitter was busy (LSR.THRE clear) were dropped",
                    static_cast<unsigned long long>(uart_.tx_dropped()));
}

UartPort UartDevice::port()
{
    UartPort p;
    p.interrupt = [this](bool level) { set_interrupt(level); };
    p.transmit = [this](uint8_t byte) { return transmit(byte); };
    p.rx_space = [this] {
        if (!input_watch_) // a live watch already says when input comes
            pump_input();
    };
    p.now_ns = [] { return monotonic_ns(); };
    p.arm_timer = [this](uint64_t delay_ns) {
        if (!timer_)
            return; // no runtime: IIR and LSR reads notice the timeout
        try {
            timer_.arm(delay_ns);
        } catch (const vmm::sdk::RuntimeError &e) {
            host().debug("character timeout timer: %s", e.what());
        }
    };
    p.dropped = [this](uint64_t) {
        if (drop_logged_)
            return;
        drop_logged_ = true;
        host().warn("the guest writes THR while the transmitter is busy (LSR.THRE clear): bytes dropped "
                    "(the total is logged at the end)");
    };
    return p;
}

void UartDevice::output_to(int fd) { out_.attach(fd); }

void UartDevice::share_connection(int fd, const std::string &path)
{
    if (spec_.kind == InputSpec::Kind::connect && spec_.path == path)
        shared_fd_ = fd;
}

// ---- guest accesses ----

void UartDevice::read(uint32_t, uint64_t offset, std::span<uint8_t> data)
{
    ensure_started();
    if (!runtime_)
        poll_without_runtime();
    uart_.read(offset, data);
}

void UartDevice::write(uint32_t, uint64_t offset, std::span<const uint8_t> data)
{
    ensure_started();
    uart_.write(offset, data);
}

// ---- the lifecycle ----

void UartDevice::realize(vmm::sdk::Runtime &runtime) { start(&runtime); }

void UartDevice::ensure_started()
{
    if (!started_)
        start(nullptr);
}

void UartDevice::start(vmm::sdk::Runtime *runtime)
{
    started_ = true;
    if (runtime != nullptr && runtime->available()) {
        runtime_ = *runtime;
        if (runtime->irq_count() > 0)
            irq_ = runtime->irq(0);
        timer_ = runtime->timer([this](uint64_t) { uart_.timeout_expired(); });
        out_.use_runtime(*runtime, [this] { uart_.tx_ready(); });
    }
    if (input_) {
        try {
            input_->open(shared_fd_);
        } catch (const vmm::sdk::ConfigError &e) {
            if (runtime != nullptr)
                throw; // realize fails: reported like a create error
            host().error("%s; the device has no input", e.what());
            input_.reset();
        }
    }
    if (input_ && input_->is_terminal())
        take_terminal();
    if (input_ && input_->listen_fd() >= 0) {
        if (output_is_input_)
            out_.set_reconnectable([this] { input_ended(); });
        watch_listen(true);
    } else if (input_ && output_is_input_ && input_->data_fd() >= 0) {
        out_.attach(input_->data_fd());
    }
    pump_input();
    uart_.resync_interrupt(); // the line as the reset (or loaded) state says
}

void UartDevice::quiesce()
{
    quiesced_ = true;
    // The instance replacing this one (a hot swap) saves the terminal's
    // attributes when it is realized: they must be the user's by then.
    terminal_.restore();
}

void UartDevice::resume()
{
    quiesced_ = false;
    if (started_ && input_ && input_->is_terminal())
        take_terminal();
    pump_input();
}

std::vector<uint8_t> UartDevice::save_state()
{
    terminal_.restore(); // as quiesce does, for hosts that do not call it
    out_.flush();
    // Output not written yet belongs to the transmitter: it moves with the
    // state instead of being lost with this instance.
    const std::vector<uint8_t> unsent = out_.take();
    return uart_.save(unsent);
}

void UartDevice::load_state(std::span<const uint8_t> blob)
{
    uart_.load(blob);
    if (started_ && input_ && input_->is_terminal() && !quiesced_)
        take_terminal();
    pump_input();
}

void UartDevice::take_terminal()
{
    if (terminal_.active())
        return;
    if (terminal_.enter(STDIN_FILENO))
        host().info("stdin is the guest's terminal (raw mode); Ctrl-A h for help, Ctrl-A x to quit");
    else
        host().warn("cannot put the terminal in raw mode (%s): input stays line-buffered", std::strerror(errno));
}

// ---- output ----

bool UartDevice::transmit(uint8_t byte)
{
    if (out_.room() == 0)
        out_.flush();
    if (out_.room() == 0)
        return false; // the UART keeps the byte: THRE stays clear
    out_.write(&byte, 1);
    return true;
}

void UartDevice::set_interrupt(bool level)
{
    if (!irq_)
        return; // no runtime, or no line: a wire to nowhere
    try {
        irq_.set(level);
    } catch (const vmm::sdk::RuntimeError &e) {
        host().debug("interrupt line: %s", e.what());
    }
}

} // namespace uart
