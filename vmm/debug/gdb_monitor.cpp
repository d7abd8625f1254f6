#include "debug/gdb_monitor.hpp"

#include "core/exit_reasons.hpp"
#include "core/machine.hpp"
#include "debug/gdb_packet.hpp"
#include "support/errors.hpp"
#include "support/escape.hpp"

#include <fmt/format.h>

#include <sstream>
#include <vector>

namespace vmm::gdb {
namespace {

constexpr const char *kHelp =
    "vmm monitor commands:\n"
    "  monitor break exit io PORT     stop after the next VM exit for port PORT (any vCPU)\n"
    "  monitor break exit mmio ADDR   stop after the next MMIO exit touching guest-physical ADDR\n"
    "  monitor break exit hlt         stop after the next HLT exit (machines without an irqchip)\n"
    "  monitor break exit             show what exits stop the VM\n"
    "  monitor break exit clear       stop on no exit\n"
    "  monitor devices                list devices, their plugins and ranges\n"
    "  monitor state DEVICE           the size of DEVICE's saved state blob\n"
    "  monitor exits                  VM exits per vCPU, by reason\n"
    "  monitor help                   this text\n"
    "Numbers are C-style (0x3f8, 1016). An exit break stays set until cleared.\n";

std::vector<std::string> words(const std::string &text)
{
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

std::optional<uint64_t> number(const std::string &text)
{
    if (text.empty())
        return std::nullopt;
    try {
        std::size_t used = 0;
        const uint64_t value = std::stoull(text, &used, 0);
        if (used != text.size() || text[0] == '-')
            return std::nullopt;
        return value;
    } catch (const std::exception &) {
        return std::nullopt;
    }
}

std::string describe_breaks(const ExitBreaks &b)
{
    if (!b.any())
        return "no exit stops the VM\n";
    std::string out = "the VM stops after an exit of:";
    if (b.io_port)
        out += fmt::format(" io port {:#x};", *b.io_port);
    if (b.mmio_address)
        out += fmt::format(" mmio at {:#x};", *b.mmio_address);
    if (b.hlt)
        out += " hlt;";
    return out + "\n";
}

std::string break_exit(const std::vector<std::string> &w, AllStop &stop)
{
    ExitBreaks breaks = stop.exit_breaks();
    if (w.size() == 2)
        return describe_breaks(breaks);
    if (w[2] == "clear") {
        stop.set_exit_breaks(ExitBreaks{});
        return "exit breaks cleared\n";
    }
    if (w[2] == "hlt" && w.size() == 3) {
        breaks.hlt = true;
    } else if (w[2] == "io" && w.size() == 4) {
        const auto port = number(w[3]);
        if (!port || *port > 0xffff)
            return fmt::format("error: '{}' is not a port (0 to 0xffff)\n", escaped(w[3]));
        breaks.io_port = static_cast<uint16_t>(*port);
    } else if (w[2] == "mmio" && w.size() == 4) {
        const auto address = number(w[3]);
        if (!address)
            return fmt::format("error: '{}' is not an address\n", escaped(w[3]));
        breaks.mmio_address = *address;
    } else {
        return "error: usage: monitor break exit io PORT | mmio ADDR | hlt | clear\n";
    }
    stop.set_exit_breaks(breaks);
    return describe_breaks(breaks);
}

std::string devices(Machine &machine)
{
    std::string out;
    for (const auto &device : machine.devices().devices()) {
        out += fmt::format("{} (plugin {})", device->name(), device->plugin().name());
        for (const DeviceRegion &r : device->regions())
            out += fmt::format(" {} {:#x}-{:#x}", r.space == Space::pio ? "pio" : "mmio", r.base, r.base + r.size - 1);
        out += "\n";
    }
    return out.empty() ? "no devices\n" : out;
}

std::string state(const std::vector<std::string> &w, Machine &machine)
{
    if (w.size() != 2)
        return "error: usage: monitor state DEVICE\n";
    const auto index = machine.devices().find(w[1]);
    if (!index)
        return fmt::format("error: no device '{}'\n", escaped(w[1]));
    DeviceInstance &device = machine.devices().at(*index);
    if (!device.has_state())
        return fmt::format("device '{}' (plugin {}) cannot save its state\n", device.name(), device.plugin().name());
    try {
        return fmt::format("device '{}' (plugin {}): state blob of {} bytes\n", device.name(), device.plugin().name(),
                           device.save_state().size());
    } catch (const SystemError &e) {
        return fmt::format("error: {}\n", e.what());
    }
}

std::string exits(AllStop &stop)
{
    std::string out;
    for (uint32_t v = 0; v < stop.vcpu_count(); ++v) {
        const std::vector<uint64_t> counts = stop.exit_counts(v);
        uint64_t total = 0;
        std::string by_reason;
        for (std::size_t reason = 0; reason < counts.size(); ++reason) {
            if (counts[reason] == 0)
                continue;
            total += counts[reason];
            by_reason += fmt::format(" {}={}", exit_reason_label(static_cast<uint32_t>(reason)), counts[reason]);
        }
        out += fmt::format("vcpu {}: {} exits{}{}\n", v, total, by_reason.empty() ? "" : ":", by_reason);
    }
    return out;
}

} // namespace

std::string run_monitor_command(const std::string &command, AllStop &stop, Machine &machine)
{
    const std::vector<std::string> w = words(command);
    if (w.empty() || w[0] == "help")
        return kHelp;
    if (w[0] == "break" && w.size() >= 2 && w[1] == "exit")
        return break_exit(w, stop);
    if (w[0] == "devices" && w.size() == 1)
        return devices(machine);
    if (w[0] == "state")
        return state(w, machine);
    if (w[0] == "exits" && w.size() == 1)
        return exits(stop);
    return fmt::format("error: unknown monitor command '{}' (monitor help lists them)\n", escaped(command));
}

} // namespace vmm::gdb
