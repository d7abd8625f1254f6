// The serial devices' input: reading the back end as the receive FIFO
// makes room, the terminal's escape keys, a listening socket's clients, and
// the event-loop watches that drive all of it (or, without a runtime, the
// guest's register reads).
#include "uart_device.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace uart {

// Without the event loop, the guest's register reads drive the input and
// the output instead (a polling driver reads LSR all the time).
void UartDevice::poll_without_runtime()
{
    if (input_ && input_->listen_fd() >= 0 && input_->data_fd() < 0)
        on_listen();
    pump_input();
    if (!out_.empty() && out_.flush())
        uart_.tx_ready();
}

void UartDevice::on_listen()
{
    if (!input_ || !input_->accept())
        return;
    host().info("a client connected to %s", spec_.path.c_str());
    watch_listen(false); // one client at a time: the next waits in the backlog
    if (output_is_input_)
        out_.attach(input_->data_fd());
    pump_input();
    uart_.tx_ready();
}

void UartDevice::on_input(uint32_t events)
{
    (void)events; // readable, hang-up or error: a read tells which
    pump_input();
}

// Read what the receive FIFO has room for; stop watching while it is full.
void UartDevice::pump_input()
{
    if (!input_ || quiesced_ || input_->data_fd() < 0)
        return;
    // A terminal is read whatever the FIFO's room: its escape keys must work
    // while the guest reads nothing (see feed()).
    const bool terminal = terminal_.active();
    uint8_t buffer[256];
    for (;;) {
        const std::size_t room = terminal ? sizeof buffer : uart_.rx_room();
        if (room == 0) {
            watch_input(false);
            return;
        }
        const ssize_t n = input_->read(buffer, std::min(room, sizeof buffer));
        if (n > 0) {
            feed(buffer, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch_input(true);
            return;
        }
        if (n < 0)
            host().warn("reading the input failed: %s", std::strerror(errno));
        input_ended();
        return;
    }
}

// Keys typed on the terminal wait in the UART's input queue (up to
// kTypeahead, then they overrun as on a real line), so that a paste is not
// lost while the guest catches up; other input is read only as far as the
// FIFO has room, so it is never lost at all.
void UartDevice::feed(const uint8_t *bytes, std::size_t size)
{
    for (std::size_t i = 0; i < size; ++i) {
        if (!terminal_.active()) {
            uart_.receive(bytes[i]);
            continue;
        }
        const EscapeKeys::Result r = escape_.feed(bytes[i]);
        switch (r.action) {
        case EscapeKeys::Action::none: break;
        case EscapeKeys::Action::byte:
            if (uart_.queued() < kTypeahead)
                uart_.queue_input(std::span<const uint8_t>(&r.byte, 1));
            else
                uart_.receive(r.byte); // an overrun (LSR.OE), as a real line would
            break;
        case EscapeKeys::Action::send_break: uart_.receive_break(); break;
        case EscapeKeys::Action::help: (void)!::write(STDERR_FILENO, kEscapeHelp, std::strlen(kEscapeHelp)); break;
        case EscapeKeys::Action::quit:
            host().info("Ctrl-A x: stopping the VM");
            host().request_stop(0);
            break;
        }
    }
}

void UartDevice::input_ended()
{
    watch_input(false);
    if (!input_)
        return;
    const bool listening = input_->listen_fd() >= 0;
    input_->end();
    if (listening) {
        host().info("the client of %s left; waiting for the next", spec_.path.c_str());
        if (output_is_input_)
            out_.detach();
        watch_listen(true);
    } else {
        host().debug("the input ended");
    }
}

void UartDevice::watch_input(bool on)
{
    if (!on) {
        input_watch_.release();
        return;
    }
    if (input_watch_ || !runtime_ || !input_ || input_->data_fd() < 0 || input_->always_ready())
        return;
    try {
        input_watch_ =
            runtime_->watch(input_->data_fd(), VMM_FD_READABLE, [this](uint32_t events) { on_input(events); });
    } catch (const vmm::sdk::RuntimeError &e) {
        host().warn("cannot watch the input: %s", e.what());
    }
}

void UartDevice::watch_listen(bool on)
{
    if (!on) {
        listen_watch_.release();
        return;
    }
    if (listen_watch_ || !runtime_ || !input_ || input_->listen_fd() < 0)
        return;
    try {
        listen_watch_ = runtime_->watch(input_->listen_fd(), VMM_FD_READABLE, [this](uint32_t) { on_listen(); });
    } catch (const vmm::sdk::RuntimeError &e) {
        host().warn("cannot watch %s for clients: %s", spec_.path.c_str(), e.what());
    }
}

} // namespace uart
