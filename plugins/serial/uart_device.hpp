// What `serial` and `serial-file` share around the UART core: the input
// back ends (settings `input` and `input_from`), the terminal and its
// escape keys, the non-blocking output, the interrupt line and the
// character-timeout timer. Each plugin only picks where the output goes.
//
// Back-pressure: input is read only while the receive FIFO has room (the
// watch on the input stops while it is full); output goes through a
// bounded buffer, and while that buffer is full the UART keeps the byte in
// its transmitter (LSR.THRE and TEMT clear) so a polling driver waits.
//
// Hosts that never call realize (before ABI 1.4) get the same device
// without interrupts: it starts at the first access, and register reads
// poll the input and drain the output instead of the event loop.
#pragma once

#include "escape_keys.hpp"
#include "terminal_mode.hpp"
#include "uart16550.hpp"
#include "uart_input.hpp"

#include <vmm/sdk.hpp>

#include <array>
#include <optional>
#include <string>

namespace uart {

inline constexpr vmm_config_key kInputKey = vmm::sdk::with_default(
    vmm::sdk::string_key("input", "bytes the guest reads from RBR, in order, before any other input"), "");
inline constexpr vmm_config_key kInputFromKey = vmm::sdk::with_default(
    vmm::sdk::socket_key("input_from", "\"none\", \"stdin\", \"file:PATH\", \"listen:PATH\" or \"connect:PATH\""),
    "none");
inline constexpr std::array kDefaultIrqs = {vmm::sdk::edge_irq(4)}; // COM1's ISA line
// Keys typed ahead on a terminal that the guest has not read yet.
inline constexpr std::size_t kTypeahead = 4096;
inline constexpr std::array kDefaultRegions = {vmm::sdk::pio_region(0x3f8, reg::kCount)};

class UartDevice : public vmm::sdk::Device {
public:
    void read(uint32_t region, uint64_t offset, std::span<uint8_t> data) override;
    void write(uint32_t region, uint64_t offset, std::span<const uint8_t> data) override;
    std::vector<uint8_t> save_state() override;
    void load_state(std::span<const uint8_t> blob) override;
    void realize(vmm::sdk::Runtime &runtime) override;
    void quiesce() override;
    void resume() override;
    ~UartDevice() override;

protected:
    // Reads `input` and `input_from` and checks the latter's path.
    UartDevice(const vmm::sdk::DeviceContext &context, std::string output_name);

    // Where the output goes, chosen by the plugin's constructor: a
    // descriptor it keeps open while the device lives, or the input's
    // socket (its client, for listen:).
    void output_to(int fd);
    void output_to_input_socket() { output_is_input_ = true; }
    // A socket the output already connected to; input_from = connect: to
    // the same path then shares it.
    void share_connection(int fd, const std::string &path);
    const InputSpec &input_spec() const { return spec_; }

private:
    void start(vmm::sdk::Runtime *runtime);
    void ensure_started();
    bool transmit(uint8_t byte);
    void set_interrupt(bool level);
    void on_input(uint32_t events);
    void on_listen();
    void pump_input();
    void feed(const uint8_t *bytes, std::size_t size);
    void input_ended();
    void watch_input(bool on);
    void watch_listen(bool on);
    void take_terminal();
    void poll_without_runtime();

    UartPort port();

    vmm::sdk::BufferedOutput out_;
    Uart16550 uart_;
    InputSpec spec_;
    std::optional<InputStream> input_;
    int shared_fd_ = -1;
    bool output_is_input_ = false;
    TerminalMode terminal_;
    EscapeKeys escape_;
    bool started_ = false;
    bool quiesced_ = false;
    std::optional<vmm::sdk::Runtime> runtime_;
    vmm::sdk::InterruptLine irq_;
    vmm::sdk::Timer timer_;
    vmm::sdk::FdWatch input_watch_;
    vmm::sdk::FdWatch listen_watch_;
    bool drop_logged_ = false;
};

} // namespace uart
