// libFuzzer target: the SIMVIRTIO protocol core as a hostile guest drives
// it. The input chooses the notify mode and queue limit, fills 64 KiB of
// guest RAM, and then is a list of register accesses (any offset, size and
// value) and poll passes. The device must never read or write outside guest
// RAM (ASan sees the exact buffer) or crash, and must keep its status a
// valid one.
#include "fuzz_input.hpp"
#include "simvirtio_core.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr uint64_t kRamSize = 64 * 1024;

struct Ram final : simvirtio::GuestRam {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(kRamSize);
    uint8_t *map(uint64_t gpa, uint64_t size) override
    {
        if (gpa >= bytes.size() || size > bytes.size() - gpa)
            return nullptr;
        return bytes.data() + gpa;
    }
};

struct Sink final : simvirtio::OutputSink {
    std::size_t total = 0;
    // Every third batch the output takes only half: the device must leave
    // the rest on TX.
    std::size_t write(std::span<const uint8_t> data) override
    {
        const std::size_t taken = ++calls % 3 == 0 ? data.size() / 2 : data.size();
        total += taken;
        return taken;
    }
    uint64_t calls = 0;
};

struct Quiet final : simvirtio::Log {
    void log(simvirtio::LogLevel, const std::string &) override {}
};

} // namespace

using fuzz::take;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    simvirtio::Config config;
    config.notify = static_cast<uint8_t>(data[0] % 3); // exit, poll, doorbell
    config.max_queue_length = 2 + static_cast<uint32_t>(take(data, size, 2) % 8192);
    const bool table_in_settings = (data[0] & 4) == 0; // else the guest writes DEVICE_TABLE
    const uint64_t table = take(data, size, 2) % kRamSize;
    if (table_in_settings)
        config.device_table = table;
    config.own_address = 0xd0000000;
    config.greeting = "hello, hostile guest\n";

    Ram ram;
    // The first part of the input is guest RAM as the guest left it.
    const std::size_t ram_bytes = std::min<std::size_t>(take(data, size, 1) * 64, size);
    std::memcpy(ram.bytes.data(), data, ram_bytes);
    data += ram_bytes;
    size -= ram_bytes;

    Sink sink;
    Quiet log;
    simvirtio::Device device(config, ram, sink, log);
    while (size > 0) {
        const uint8_t op = static_cast<uint8_t>(take(data, size, 1));
        const uint32_t width = 1u << (op & 3);           // 1, 2, 4 or 8 bytes
        const uint64_t offset = take(data, size, 1) & 0xff; // the whole register space
        if (op & 0x80) {
            device.poll();
        } else if (op & 0x40) {
            uint8_t out[8];
            device.read(offset, std::span<uint8_t>(out, width));
        } else {
            uint8_t value[8] = {};
            const uint64_t v = take(data, size, width);
            std::memcpy(value, &v, width);
            device.write(offset, std::span<const uint8_t>(value, width));
        }
        // The guest may scribble on RAM between accesses, as a real one can.
        if ((op & 0x30) == 0x30 && size >= 3) {
            const uint64_t at = take(data, size, 2) % kRamSize;
            ram.bytes[at] = static_cast<uint8_t>(take(data, size, 1));
        }
        const uint8_t status = device.device_status();
        if (status != simvirtio::kDeviceReset && status != simvirtio::kDeviceConfig &&
            status != simvirtio::kDeviceReady && status != simvirtio::kDeviceError)
            std::abort();
    }
    return 0;
}
