// The simvirtio plugin through the real ABI, without KVM: a DeviceInstance of
// build/lib/vmm/plugins/vmm-simvirtio.so on a FakeHost that owns guest RAM.
// The test plays the driver: it writes the rings, control blocks and device
// table in that RAM and the registers through the instance, in both notify
// modes (in poll mode with the device thread running), and checks statuses,
// error codes, stdout and the logged reasons against plugins/simvirtio/README.md.
// Register offsets and values come from the guest driver's header, so the
// driver and the device are checked against each other.
#include "kvm/guest_memory.hpp"
#include "plugin/device_instance.hpp"
#include "plugin/plugin_library.hpp"
#include "support/logging.hpp"

#include "capture.hpp"
#include "support/input_error_text.hpp"
#include "test_paths.hpp"

#include "../../guests/lib/simvirtio.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <thread>

using namespace vmm;
using vmm::test::Capture;
using vmm::test::count_of;
using vmm::test::input_error_text;

namespace {

constexpr uint64_t kBase = 0xd0000000;
constexpr uint64_t kRamSize = 0x10000;
constexpr uint64_t kTable = 0x800;
constexpr uint64_t kTxBuffer = 0x1000;
constexpr uint64_t kRxBuffer = 0x2000;
constexpr uint64_t kControl = 0x3000; // TX control block; RX's at +8
constexpr auto kTimeout = std::chrono::seconds(10);

struct FakeHost final : HostServices {
    GuestMemory ram;
    FakeHost() { ram.add_ram("ram", 0, kRamSize); }
    GuestMemory &memory() override { return ram; }
    void request_stop(int32_t, const std::string &) override {}
};

std::shared_ptr<PluginLibrary> simvirtio_plugin()
{
    static auto plugin =
        PluginLibrary::load(std::filesystem::path(vmm::test::paths::plugin_dir()) / "vmm-simvirtio.so");
    return plugin;
}

Setting setting(const std::string &key, SettingValue value) { return Setting{key, std::move(value), {}}; }

template <typename Predicate>
bool wait_until(Predicate done)
{
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return true;
}

struct Options {
    std::string notify = "exit";
    std::string greeting;
    int64_t max_queue_length = 4096;
    int64_t table = kTable; // < 0: no setting (the driver writes DEVICE_TABLE)
    std::string output = "stdout";
};

// The device and a driver for it, written from the README.
class Rig {
public:
    explicit Rig(const Options &options = {}) : poll(options.notify != "exit"), doorbell(options.notify == "doorbell")
    {
        std::vector<Setting> settings{setting("notify", options.notify), setting("greeting", options.greeting),
                                      setting("max_queue_length", options.max_queue_length),
                                      setting("output", options.output)};
        if (options.table >= 0)
            settings.push_back(setting("device_table", options.table));
        device = std::make_unique<DeviceInstance>(
            simvirtio_plugin(), "sv", std::vector<DeviceRegion>{{Space::mmio, 0x1000, kBase}}, settings, host);
    }

    FakeHost host; // outlives the device: its thread and pointers use this RAM
    std::unique_ptr<DeviceInstance> device;
    bool poll;     // the control blocks are in RAM (poll and doorbell modes)
    bool doorbell; // ... and the driver rings after each index it publishes
    uint32_t tx_len = 0;
    uint32_t rx_len = 0;

    uint64_t rd(uint64_t offset, uint32_t size)
    {
        uint8_t bytes[8] = {};
        device->read(0, offset, bytes, size);
        uint64_t value = 0;
        std::memcpy(&value, bytes, size);
        return value;
    }
    void wr(uint64_t offset, uint32_t size, uint64_t value)
    {
        uint8_t bytes[8];
        std::memcpy(bytes, &value, 8);
        device->write(0, offset, bytes, size);
    }
    uint8_t status() { return static_cast<uint8_t>(rd(SIMVIRTIO_REG_DEVICE_STATUS, 1)); }
    uint8_t error() { return static_cast<uint8_t>(rd(SIMVIRTIO_REG_ERROR, 1)); }
    void driver_status(uint8_t value) { wr(SIMVIRTIO_REG_DRIVER_STATUS, 1, value); }
    void reset() { driver_status(SIMVIRTIO_DRIVER_RESET); }

    uint8_t *ram(uint64_t address, uint64_t size) { return host.ram.host_pointer(address, size); }
    uint32_t *control(int queue) { return reinterpret_cast<uint32_t *>(ram(kControl + 8 * queue, 8)); }

    void configure(int queue, uint64_t address, uint64_t length, uint64_t control_block)
    {
        const uint64_t ctl = queue == 0 ? SIMVIRTIO_REG_Q0_CTL : SIMVIRTIO_REG_Q1_CTL;
        wr(ctl, 1, 0);
        wr(SIMVIRTIO_REG_QUEUE_SEL, 1, static_cast<uint64_t>(queue));
        wr(SIMVIRTIO_REG_QUEUE_ADDR, 8, address);
        wr(SIMVIRTIO_REG_QUEUE_LEN, 4, length);
        wr(SIMVIRTIO_REG_QUEUE_CB, 8, control_block);
        wr(ctl, 1, SIMVIRTIO_QUEUE_ENABLE);
    }
    void setup(uint32_t tx = 64, uint32_t rx = 64)
    {
        configure(0, kTxBuffer, tx, kControl);
        configure(1, kRxBuffer, rx, kControl + 8);
        tx_len = tx;
        rx_len = rx;
    }

    uint32_t load(int queue, int word) { return __atomic_load_n(&control(queue)[word], __ATOMIC_ACQUIRE); }
    void store(int queue, int word, uint32_t value) { __atomic_store_n(&control(queue)[word], value, __ATOMIC_RELEASE); }
    uint32_t tx_head() { return poll ? load(0, 0) : static_cast<uint32_t>(rd(SIMVIRTIO_REG_Q0_HEAD, 4)); }
    uint32_t tx_tail() { return poll ? load(0, 1) : static_cast<uint32_t>(rd(SIMVIRTIO_REG_Q0_TAIL, 4)); }
    uint32_t rx_head() { return poll ? load(1, 0) : static_cast<uint32_t>(rd(SIMVIRTIO_REG_Q1_HEAD, 4)); }
    uint32_t rx_tail() { return poll ? load(1, 1) : static_cast<uint32_t>(rd(SIMVIRTIO_REG_Q1_TAIL, 4)); }
    // In doorbell mode the index goes to RAM, then the doorbell: a 4-byte
    // write that reaches the device here (no KVM: no ioeventfd), as one of
    // another size would from a guest.
    void set_tx_head(uint32_t value)
    {
        poll ? store(0, 0, value) : wr(SIMVIRTIO_REG_Q0_HEAD, 4, value);
        if (doorbell)
            wr(SIMVIRTIO_REG_TX_NOTIFY, 4, value);
    }
    void set_rx_tail(uint32_t value)
    {
        poll ? store(1, 1, value) : wr(SIMVIRTIO_REG_Q1_TAIL, 4, value);
        if (doorbell)
            wr(SIMVIRTIO_REG_RX_NOTIFY, 4, value);
    }
    void ring()
    {
        wr(SIMVIRTIO_REG_TX_NOTIFY, 4, 0);
        wr(SIMVIRTIO_REG_RX_NOTIFY, 4, 0);
    }

    // Queue bytes on TX (they must fit), then publish the head once.
    void push(std::string_view bytes)
    {
        uint32_t head = tx_head();
        for (char c : bytes) {
            *ram(kTxBuffer + head, 1) = static_cast<uint8_t>(c);
            head = (head + 1) % tx_len;
        }
        set_tx_head(head);
    }
    bool drained()
    {
        return wait_until([&] { return tx_tail() == tx_head(); });
    }
    // Push bytes in ring-sized pieces, waiting for each to be consumed.
    void send(std::string_view bytes)
    {
        while (!bytes.empty()) {
            const std::size_t n = std::min<std::size_t>(bytes.size(), tx_len - 1);
            push(bytes.substr(0, n));
            REQUIRE(drained());
            bytes.remove_prefix(n);
        }
    }
    void command(char c)
    {
        push(std::string_view(&c, 1));
        REQUIRE(drained());
    }
    // Pop what RX holds (publishing the tail once).
    std::string pop()
    {
        const uint32_t head = rx_head();
        uint32_t tail = rx_tail();
        std::string bytes;
        while (tail != head) {
            bytes += static_cast<char>(*ram(kRxBuffer + tail, 1));
            tail = (tail + 1) % rx_len;
        }
        set_rx_tail(tail);
        return bytes;
    }
    // Pop until `n` bytes came, or the timeout.
    std::string receive(std::size_t n)
    {
        std::string bytes;
        wait_until([&] {
            bytes += pop();
            return bytes.size() >= n;
        });
        return bytes;
    }
    // Wait for a status the device thread sets (poll mode), or check it now.
    bool status_becomes(uint8_t expected)
    {
        return wait_until([&] { return status() == expected; });
    }

    void to_reset()
    {
        command('R');
        REQUIRE(status() == SIMVIRTIO_DEVICE_RESET);
    }
    void to_config()
    {
        to_reset();
        driver_status(SIMVIRTIO_DRIVER_ACK);
        command('C');
        REQUIRE(status() == SIMVIRTIO_DEVICE_CONFIG);
    }
    void to_ready()
    {
        to_config();
        driver_status(SIMVIRTIO_DRIVER_OK);
        REQUIRE(status() == SIMVIRTIO_DEVICE_READY);
    }

    void write_table(uint16_t count, std::initializer_list<uint64_t> entries)
    {
        uint8_t table[88] = {};
        std::memcpy(table, &count, 2);
        int i = 0;
        for (uint64_t e : entries)
            std::memcpy(table + 8 + 8 * i++, &e, 8);
        REQUIRE(host.ram.write(kTable, table, sizeof table));
    }
    uint16_t table_count()
    {
        uint16_t count = 0;
        host.ram.read(kTable, &count, 2);
        return count;
    }
    uint64_t table_entry(int i)
    {
        uint64_t value = 0;
        host.ram.read(kTable + 8 + 8 * i, &value, 8);
        return value;
    }
};

const char *mode_name(bool poll) { return poll ? "poll" : "exit"; }
constexpr std::array<const char *, 3> kModes = {"exit", "poll", "doorbell"};

} // namespace

TEST_CASE("simvirtio: bad settings and regions are configuration errors", "[simvirtio]")
{
    FakeHost host;
    const auto create = [&](std::vector<Setting> settings, std::vector<DeviceRegion> regions = {{Space::mmio, 0x100, kBase}}) {
        return input_error_text([&] { DeviceInstance(simvirtio_plugin(), "sv", regions, settings, host); });
    };
    CHECK(create({}) == ""); // protocol 1.1: the driver may give the device table itself
    CHECK_THAT(create({setting("device_table", int64_t{0x804})}), Catch::Contains("8-byte aligned"));
    CHECK_THAT(create({setting("device_table", int64_t{-8})}), Catch::Contains("8-byte aligned"));
    CHECK_THAT(create({setting("device_table", int64_t{kTable}), setting("notify", std::string("irq"))}),
               Catch::Contains("notify must be \"exit\", \"poll\" or \"doorbell\", got \"irq\""));
    CHECK_THAT(create({setting("output", std::string("printer"))}),
               Catch::Contains("output must be \"stdout\", \"discard\", \"file:PATH\" or \"unix:PATH\", got \"printer\""));
    CHECK_THAT(create({setting("output", std::string("unix:/nonexistent/simvirtio.sock"))}),
               Catch::Contains("output: cannot connect to '/nonexistent/simvirtio.sock'"));
    CHECK_THAT(create({setting("output", std::string("file:/nonexistent/dir/out.txt"))}),
               Catch::Contains("output: cannot write '/nonexistent/dir/out.txt'"));
    CHECK_THAT(create({setting("device_table", int64_t{kTable}), setting("max_queue_length", int64_t{1})}),
               Catch::Contains("max_queue_length must be 2..65535, got 1"));
    CHECK_THAT(create({setting("device_table", int64_t{kTable}), setting("max_queue_length", int64_t{65536})}),
               Catch::Contains("max_queue_length must be 2..65535, got 65536"));
    CHECK_THAT(create({setting("device_table", int64_t{kTable})}, {{Space::mmio, 0x80, kBase}}),
               Catch::Contains("needs 1 MMIO region(s) of at least 256 bytes, got mmio:128"));
    CHECK_THAT(create({setting("device_table", int64_t{kTable})}, {{Space::pio, 0x100, 0x100}}),
               Catch::Contains("needs 1 MMIO region(s)"));
    CHECK(create({setting("device_table", int64_t{kTable}), setting("max_queue_length", int64_t{65535})}) == "");
    CHECK(simvirtio_plugin()->thread_safe());
}

TEST_CASE("simvirtio: the config space at power-on, with accesses of every size", "[simvirtio]")
{
    Rig rig({.notify = "exit", .max_queue_length = 1000});
    CHECK(rig.rd(SIMVIRTIO_REG_MAGIC, 4) == SIMVIRTIO_MAGIC);
    CHECK(rig.rd(SIMVIRTIO_REG_MAX_QUEUE_LEN, 2) == 1000);
    CHECK(rig.status() == SIMVIRTIO_DEVICE_RESET);
    CHECK(rig.rd(SIMVIRTIO_REG_DRIVER_STATUS, 1) == 0);
    CHECK(rig.rd(SIMVIRTIO_REG_QUEUE_SEL, 1) == 0);
    CHECK(rig.rd(SIMVIRTIO_REG_Q0_CTL, 1) == 0);
    CHECK(rig.rd(SIMVIRTIO_REG_Q1_CTL, 1) == 0);
    CHECK(rig.rd(SIMVIRTIO_REG_NOTIFY_MODE, 1) == SIMVIRTIO_NOTIFY_EXIT);
    CHECK(rig.error() == 0);
    // Wide and misaligned reads see the registers byte by byte.
    CHECK(rig.rd(0x00, 8) == (uint64_t{SIMVIRTIO_MAGIC} | uint64_t{1000} << 32));
    CHECK(rig.rd(0x01, 2) == 0x7269);               // "ir" of "virt"
    CHECK(rig.rd(0x05, 2) == (1000 >> 8));          // MAX_QUEUE_LEN's high byte, then DEVICE_STATUS
    CHECK(rig.rd(0x0c, 4) == 0x1100);               // ERROR, VERSION (1.1) and two reserved bytes
    CHECK(rig.rd(SIMVIRTIO_REG_VERSION, 1) == SIMVIRTIO_VERSION);
    CHECK(rig.rd(SIMVIRTIO_REG_DEVICE_TABLE, 8) == kTable); // the setting, exposed
    CHECK(rig.rd(SIMVIRTIO_REG_RX_MSG_END, 4) == 0);
    CHECK(rig.rd(SIMVIRTIO_REG_RX_MSG_COUNT, 4) == 0);
    CHECK(rig.rd(0x38, 8) == 0);
    CHECK(rig.rd(0x50, 8) == 0);
    CHECK(rig.rd(0xf8, 8) == 0);
    CHECK(rig.rd(0x800, 8) == 0);                   // beyond the registers in a 0x1000 region

    // Narrow writes merge into wide registers.
    for (int i = 0; i < 8; ++i)
        rig.wr(SIMVIRTIO_REG_QUEUE_ADDR + i, 1, 0x10 + i);
    CHECK(rig.rd(SIMVIRTIO_REG_QUEUE_ADDR, 8) == 0x1716151413121110);
    rig.wr(SIMVIRTIO_REG_QUEUE_ADDR + 4, 4, 0);
    CHECK(rig.rd(SIMVIRTIO_REG_QUEUE_ADDR, 8) == 0x13121110);
    rig.wr(SIMVIRTIO_REG_QUEUE_LEN + 2, 2, 0xabcd);
    CHECK(rig.rd(SIMVIRTIO_REG_QUEUE_LEN, 4) == 0xabcd0000);
    // Each queue has its own configuration.
    rig.wr(SIMVIRTIO_REG_QUEUE_SEL, 1, 1);
    CHECK(rig.rd(SIMVIRTIO_REG_QUEUE_ADDR, 8) == 0);
    rig.wr(SIMVIRTIO_REG_QUEUE_CB, 8, 0x1234);
    rig.wr(SIMVIRTIO_REG_QUEUE_SEL, 1, 0);
    CHECK(rig.rd(SIMVIRTIO_REG_QUEUE_CB, 8) == 0);
    CHECK(rig.rd(SIMVIRTIO_REG_QUEUE_LEN, 4) == 0xabcd0000);
    // An 8-byte write at 0x08 writes the selector and both queue controls.
    rig.setup(); // leaves the selector at 1
    rig.wr(0x08, 8, uint64_t{0x0101} << 8 | 0);
    CHECK(rig.rd(SIMVIRTIO_REG_QUEUE_SEL, 1) == 0);
    CHECK(rig.rd(SIMVIRTIO_REG_Q0_CTL, 1) == 1);
    CHECK(rig.status() == SIMVIRTIO_DEVICE_RESET);
}

TEST_CASE("simvirtio: writes to reserved offsets and read-only registers are ignored and logged once", "[simvirtio]")
{
    Rig rig;
    Capture err(STDERR_FILENO);
    for (int i = 0; i < 2; ++i) {
        rig.wr(0x0e, 1, 0xff);
        rig.wr(0x38, 8, ~0ull);
        rig.wr(SIMVIRTIO_REG_DEVICE_TABLE, 8, 0x1000); // read-only when a setting gives it
        rig.wr(SIMVIRTIO_REG_MAGIC, 4, 0);
        rig.wr(SIMVIRTIO_REG_DEVICE_STATUS, 1, SIMVIRTIO_DEVICE_READY);
        rig.wr(0x100, 4, 1);
        rig.wr(0x900, 8, 1);
    }
    // Writing a read-only register's own value back (a read-modify-write of
    // a wider word) is not worth a line.
    rig.wr(0x04, 4, rig.rd(0x04, 4));
    const std::string log = err.finish();
    INFO(log);
    CHECK(count_of(log, "ignored 1 byte(s) written at reserved offset(s) 0x0e..0x0e") == 1);
    CHECK(count_of(log, "ignored 8 byte(s) written at reserved offset(s) 0x38..0x3f") == 1);
    CHECK(count_of(log, "read-only register DEVICE_TABLE") == 1);
    CHECK(rig.rd(SIMVIRTIO_REG_DEVICE_TABLE, 8) == kTable);
    CHECK(count_of(log, "read-only register MAGIC") == 1);
    CHECK(count_of(log, "read-only register DEVICE_STATUS") == 1);
    CHECK(count_of(log, "read-only register MAX_QUEUE_LEN") == 0);
    CHECK(count_of(log, "reserved offset(s) 0x100..0x103") == 1);
    CHECK(count_of(log, "0x900") == 0); // once for everything from 0x100
    CHECK(rig.rd(SIMVIRTIO_REG_MAGIC, 4) == SIMVIRTIO_MAGIC);
    CHECK(rig.status() == SIMVIRTIO_DEVICE_RESET);
    CHECK(rig.error() == 0);
    CHECK(rig.rd(0x0e, 1) == 0);
}

TEST_CASE("simvirtio: handshake, device table, data to stdout and the greeting (exit mode and poll mode)", "[simvirtio][poll]")
{
    for (const std::string mode : kModes) {
        const bool poll = mode != "exit";
        DYNAMIC_SECTION(mode)
        {
            Rig rig({.notify = mode, .greeting = "Hello, driver!\n"});
            CHECK(rig.rd(SIMVIRTIO_REG_NOTIFY_MODE, 1) == (mode == "exit"   ? SIMVIRTIO_NOTIFY_EXIT
                                                            : mode == "poll" ? SIMVIRTIO_NOTIFY_POLL
                                                                             : SIMVIRTIO_NOTIFY_DOORBELL));
            // In poll mode the device zeroes the control block at enable.
            rig.store(0, 0, 5);
            rig.store(0, 1, 6);
            rig.setup(16, 8);
            CHECK(rig.rd(SIMVIRTIO_REG_Q0_CTL, 1) == 1);
            CHECK(rig.rd(SIMVIRTIO_REG_Q1_CTL, 1) == 1);
            CHECK(rig.tx_head() == 0);
            CHECK(rig.tx_tail() == 0);
            if (!poll) {
                CHECK(rig.load(0, 0) == 5); // exit mode leaves RAM alone
            }

            rig.to_reset();
            CHECK(rig.error() == 0);
            rig.driver_status(SIMVIRTIO_DRIVER_ACK);
            rig.command('C');
            CHECK(rig.status() == SIMVIRTIO_DEVICE_CONFIG);
            CHECK(rig.table_count() == 1);
            CHECK(rig.table_entry(0) == kBase);
            CHECK(rig.rx_head() == rig.rx_tail()); // no greeting before READY

            Capture out(STDOUT_FILENO);
            rig.driver_status(SIMVIRTIO_DRIVER_OK);
            const uint8_t ready = rig.status();
            // The greeting (15 bytes) is larger than RX (7): the device
            // refills RX as the driver frees it.
            const std::string greeting = rig.receive(15);
            // TX wraps around its 16 bytes several times; an 'R' is data now.
            rig.send("Ana are mere!\n");
            rig.send("Rest of the data, longer than the ring\n");
            const std::string text = out.finish();
            CHECK(ready == SIMVIRTIO_DEVICE_READY);
            CHECK(greeting == "Hello, driver!\n");
            CHECK(text == "Ana are mere!\nRest of the data, longer than the ring\n");
            CHECK(rig.status() == SIMVIRTIO_DEVICE_READY);
            CHECK(rig.error() == 0);
            CHECK(rig.rd(SIMVIRTIO_REG_DRIVER_STATUS, 1) == SIMVIRTIO_DRIVER_OK);
        }
    }
}

TEST_CASE("simvirtio: the device table keeps an existing entry and fills the last slot", "[simvirtio]")
{
    SECTION("already listed")
    {
        Rig rig;
        rig.setup();
        rig.write_table(3, {0x1000, kBase, 0x3000});
        rig.to_config();
        CHECK(rig.table_count() == 3);
        CHECK(rig.table_entry(1) == kBase);
        CHECK(rig.table_entry(3) == 0);
    }
    SECTION("one slot left")
    {
        Rig rig;
        rig.setup();
        rig.write_table(9, {1, 2, 3, 4, 5, 6, 7, 8, 9});
        rig.to_config();
        CHECK(rig.table_count() == 10);
        CHECK(rig.table_entry(8) == 9);
        CHECK(rig.table_entry(9) == kBase);
    }
    SECTION("a second handshake after a reset does not add it again")
    {
        Rig rig;
        rig.setup();
        rig.to_ready();
        rig.reset();
        CHECK(rig.status() == SIMVIRTIO_DEVICE_RESET);
        rig.to_config();
        CHECK(rig.table_count() == 1);
    }
}

namespace {

struct BadCase {
    const char *name;
    bool exit_mode;
    bool poll_mode;
    std::function<void(Rig &)> act; // from a fresh device with both queues set up
    uint8_t error;
    const char *reason;             // in the log
};

void set_length(Rig &rig, uint32_t length) { rig.configure(0, kTxBuffer, length, kControl); }

const std::vector<BadCase> &bad_cases()
{
    static const std::vector<BadCase> cases = {
        {"'C' before 'R'", true, true, [](Rig &r) { r.command('C'); }, SIMVIRTIO_ERR_OUT_OF_ORDER, "'C' before 'R'"},
        {"a data byte before 'R'", true, true, [](Rig &r) { r.command('x'); }, SIMVIRTIO_ERR_OUT_OF_ORDER,
         "byte 0x78 ('x') before 'R'"},
        {"data before DRIVER_OK", true, true,
         [](Rig &r) {
             r.to_config();
             r.command('A');
         },
         SIMVIRTIO_ERR_OUT_OF_ORDER, "byte 0x41 ('A') before DRIVER_OK"},
        {"DRIVER_OK first", true, true, [](Rig &r) { r.driver_status(SIMVIRTIO_DRIVER_OK); },
         SIMVIRTIO_ERR_OUT_OF_ORDER, "DRIVER_OK before DEVICE_CONFIG"},
        {"DRIVER_OK after 'R', before 'C'", true, true,
         [](Rig &r) {
             r.to_reset();
             r.driver_status(SIMVIRTIO_DRIVER_OK);
         },
         SIMVIRTIO_ERR_OUT_OF_ORDER, "DRIVER_OK before DEVICE_CONFIG"},
        {"'C' twice", true, true,
         [](Rig &r) {
             r.to_config();
             r.command('C');
         },
         SIMVIRTIO_ERR_OUT_OF_ORDER, "'C' in DEVICE_CONFIG"},
        {"'C' after a reset request, without 'R'", true, true,
         [](Rig &r) {
             r.to_ready();
             r.reset();
             r.command('C');
         },
         SIMVIRTIO_ERR_OUT_OF_ORDER, "'C' before 'R'"},
        {"DRIVER_ACK while READY", true, true,
         [](Rig &r) {
             r.to_ready();
             r.driver_status(SIMVIRTIO_DRIVER_ACK);
         },
         SIMVIRTIO_ERR_OUT_OF_ORDER, "driver status 0x00 while DEVICE_READY"},
        {"driver status 1", true, true, [](Rig &r) { r.driver_status(1); }, SIMVIRTIO_ERR_BAD_DRIVER_STATUS,
         "invalid driver status 0x01"},
        {"driver status 0x7f", true, true, [](Rig &r) { r.driver_status(0x7f); }, SIMVIRTIO_ERR_BAD_DRIVER_STATUS,
         "invalid driver status 0x7f"},
        {"queue selector 2", true, true, [](Rig &r) { r.wr(SIMVIRTIO_REG_QUEUE_SEL, 1, 2); },
         SIMVIRTIO_ERR_BAD_SELECTOR, "queue selector 2 (0 = TX, 1 = RX)"},
        {"queue length 0", true, true, [](Rig &r) { set_length(r, 0); }, SIMVIRTIO_ERR_BAD_LENGTH,
         "queue TX (Q0) length 0 (must be 2..4096)"},
        {"queue length 1", true, true, [](Rig &r) { set_length(r, 1); }, SIMVIRTIO_ERR_BAD_LENGTH,
         "queue TX (Q0) length 1 (must be 2..4096)"},
        {"queue length max + 1", true, true, [](Rig &r) { set_length(r, 4097); }, SIMVIRTIO_ERR_BAD_LENGTH,
         "queue TX (Q0) length 4097 (must be 2..4096)"},
        {"RX length 0xffffffff", true, true, [](Rig &r) { r.configure(1, kRxBuffer, 0xffffffff, kControl + 8); },
         SIMVIRTIO_ERR_BAD_LENGTH, "queue RX (Q1) length 4294967295"},
        {"buffer past the end of RAM", true, true, [](Rig &r) { r.configure(0, kRamSize - 8, 64, kControl); },
         SIMVIRTIO_ERR_BAD_ADDRESS, "queue TX (Q0) buffer 0xfff8..+0x40 is not wholly inside guest RAM"},
        {"buffer address wraps around", true, true, [](Rig &r) { r.configure(0, ~0ull - 15, 64, kControl); },
         SIMVIRTIO_ERR_BAD_ADDRESS, "queue TX (Q0) buffer 0xfffffffffffffff0..+0x40"},
        {"buffer on the device's MMIO", true, true, [](Rig &r) { r.configure(1, kBase, 64, kControl + 8); },
         SIMVIRTIO_ERR_BAD_ADDRESS, "queue RX (Q1) buffer 0xd0000000..+0x40"},
        {"control block misaligned", false, true, [](Rig &r) { r.configure(0, kTxBuffer, 64, kControl + 2); },
         SIMVIRTIO_ERR_BAD_ADDRESS, "queue TX (Q0) control block 0x3002 is not 4-byte aligned"},
        {"control block past the end of RAM", false, true,
         [](Rig &r) { r.configure(1, kRxBuffer, 64, kRamSize - 4); }, SIMVIRTIO_ERR_BAD_ADDRESS,
         "queue RX (Q1) control block 0xfffc..+8 is not wholly inside guest RAM"},
        {"queue length written while enabled", true, true,
         [](Rig &r) {
             r.wr(SIMVIRTIO_REG_QUEUE_SEL, 1, 0);
             r.wr(SIMVIRTIO_REG_QUEUE_LEN, 4, 32);
         },
         SIMVIRTIO_ERR_OUT_OF_ORDER, "queue TX (Q0) length written while the queue is enabled"},
        {"queue address written while enabled", true, true, [](Rig &r) { r.wr(SIMVIRTIO_REG_QUEUE_ADDR, 4, 0); },
         SIMVIRTIO_ERR_OUT_OF_ORDER, "queue RX (Q1) buffer address written while the queue is enabled"},
        {"TX head register >= length", true, false, [](Rig &r) { r.wr(SIMVIRTIO_REG_Q0_HEAD, 4, 64); },
         SIMVIRTIO_ERR_BAD_INDEX, "TX head 64 >= queue length 64"},
        {"RX tail register >= length", true, false, [](Rig &r) { r.wr(SIMVIRTIO_REG_Q1_TAIL, 4, 0x80000000); },
         SIMVIRTIO_ERR_BAD_INDEX, "RX tail 2147483648 >= queue length 64"},
        {"TX head register of a disabled queue", true, false,
         [](Rig &r) {
             r.wr(SIMVIRTIO_REG_Q0_CTL, 1, 0);
             r.wr(SIMVIRTIO_REG_Q0_HEAD, 4, 1);
         },
         SIMVIRTIO_ERR_OUT_OF_ORDER, "TX head written while TX is disabled"},
        {"RX tail register of a disabled queue", true, false,
         [](Rig &r) {
             r.wr(SIMVIRTIO_REG_Q1_CTL, 1, 0);
             r.wr(SIMVIRTIO_REG_Q1_TAIL, 4, 1);
         },
         SIMVIRTIO_ERR_OUT_OF_ORDER, "RX tail written while RX is disabled"},
        {"TX head in RAM >= length", false, true, [](Rig &r) { r.store(0, 0, 64); }, SIMVIRTIO_ERR_BAD_INDEX,
         "TX head 64 >= queue length 64"},
        {"RX tail in RAM >= length", false, true, [](Rig &r) { r.store(1, 1, 1000); }, SIMVIRTIO_ERR_BAD_INDEX,
         "RX tail 1000 >= queue length 64"},
        {"device table full", true, true,
         [](Rig &r) {
             r.write_table(10, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
             r.to_reset();
             r.command('C');
         },
         SIMVIRTIO_ERR_TABLE, "device table full (10 devices)"},
        {"device table count 11", true, true,
         [](Rig &r) {
             r.write_table(11, {});
             r.to_reset();
             r.command('C');
         },
         SIMVIRTIO_ERR_TABLE, "device table corrupt: count 11 > 10"},
        {"device table count 0xffff", true, true,
         [](Rig &r) {
             r.write_table(0xffff, {});
             r.to_reset();
             r.command('C');
         },
         SIMVIRTIO_ERR_TABLE, "count 65535 > 10"},
    };
    return cases;
}

} // namespace

TEST_CASE("simvirtio: every bad value and out-of-order step ends in DEVICE_ERROR with its code and reason (exit mode and poll mode)",
          "[simvirtio][poll]")
{
    for (const std::string mode : kModes) {
        const bool poll = mode != "exit"; // the poll-mode cases hold for doorbell mode, with a ring
        for (const BadCase &c : bad_cases()) {
            if (!(poll ? c.poll_mode : c.exit_mode))
                continue;
            DYNAMIC_SECTION(mode << ": " << c.name)
            {
                Rig rig({.notify = mode});
                rig.setup();
                REQUIRE(rig.status() == SIMVIRTIO_DEVICE_RESET);
                const uint64_t selector = rig.rd(SIMVIRTIO_REG_QUEUE_SEL, 1);
                Capture err(STDERR_FILENO);
                c.act(rig);
                if (rig.doorbell)
                    rig.ring(); // what a driver does after publishing an index
                const bool became_error = rig.status_becomes(SIMVIRTIO_DEVICE_ERROR);
                const std::string log = err.finish();
                INFO(log);
                CHECK(became_error);
                CHECK(rig.error() == c.error);
                CHECK_THAT(log, Catch::Contains("DEVICE_ERROR") && Catch::Contains(c.reason));
                if (c.error == SIMVIRTIO_ERR_BAD_SELECTOR)
                    CHECK(rig.rd(SIMVIRTIO_REG_QUEUE_SEL, 1) == selector);
                if (c.error == SIMVIRTIO_ERR_BAD_LENGTH || c.error == SIMVIRTIO_ERR_BAD_ADDRESS) {
                    const bool rx = std::string_view(c.reason).find("RX (Q1)") != std::string_view::npos;
                    REQUIRE((rx || std::string_view(c.reason).find("TX (Q0)") != std::string_view::npos));
                    CHECK(rig.rd(rx ? SIMVIRTIO_REG_Q1_CTL : SIMVIRTIO_REG_Q0_CTL, 1) == 0); // stays disabled
                    CHECK(rig.rd(rx ? SIMVIRTIO_REG_Q0_CTL : SIMVIRTIO_REG_Q1_CTL, 1) == 1);
                }
                if (std::string_view(c.name) == "TX head register >= length")
                    CHECK(rig.rd(SIMVIRTIO_REG_Q0_HEAD, 4) == 0);
                if (std::string_view(c.name) == "device table full")
                    CHECK(rig.table_count() == 10);

                // A reset request always recovers; afterwards the device
                // works again (the queues need setting up if they broke).
                rig.reset();
                CHECK(rig.status() == SIMVIRTIO_DEVICE_RESET);
                CHECK(rig.error() == 0);
                CHECK(rig.rd(SIMVIRTIO_REG_DRIVER_STATUS, 1) == 0);
                if (poll) {
                    CHECK(rig.load(0, 0) < 64); // a bad index was reset to 0
                    CHECK(rig.load(1, 1) < 64);
                }
                rig.write_table(0, {});
                rig.setup();
                rig.to_ready();
                CHECK(rig.error() == 0);
            }
        }
    }
}

TEST_CASE("simvirtio: in DEVICE_ERROR the first code sticks, TX is discarded, and 'R' recovers", "[simvirtio]")
{
    Rig rig({.greeting = "hi"});
    rig.setup();
    rig.command('C'); // before 'R'
    REQUIRE(rig.status() == SIMVIRTIO_DEVICE_ERROR);
    rig.wr(SIMVIRTIO_REG_QUEUE_SEL, 1, 9);
    rig.driver_status(3);
    rig.driver_status(SIMVIRTIO_DRIVER_OK);
    rig.wr(SIMVIRTIO_REG_Q0_HEAD, 4, 1000);
    CHECK(rig.error() == SIMVIRTIO_ERR_OUT_OF_ORDER);
    CHECK(rig.status() == SIMVIRTIO_DEVICE_ERROR);
    CHECK(rig.rd(SIMVIRTIO_REG_QUEUE_SEL, 1) == 1);
    CHECK(rig.rd(SIMVIRTIO_REG_DRIVER_STATUS, 1) == 0);
    // Bytes are consumed and dropped; RX gets nothing.
    Capture out(STDOUT_FILENO);
    rig.push("Cxyz");
    CHECK(rig.drained());
    CHECK(rig.status() == SIMVIRTIO_DEVICE_ERROR);
    CHECK(rig.rx_head() == 0);
    // 'R' recovers, and drops what was queued behind it.
    rig.push("RC");
    CHECK(rig.drained());
    CHECK(rig.status() == SIMVIRTIO_DEVICE_RESET);
    CHECK(rig.error() == 0);
    rig.driver_status(SIMVIRTIO_DRIVER_ACK);
    rig.command('C');
    rig.driver_status(SIMVIRTIO_DRIVER_OK);
    CHECK(rig.status() == SIMVIRTIO_DEVICE_READY);
    CHECK(rig.pop() == "hi");
    CHECK(out.finish() == "");
}

TEST_CASE("simvirtio: a reset empties RX and drops the rest of the greeting", "[simvirtio]")
{
    Rig rig({.greeting = "a greeting longer than RX"});
    rig.setup(64, 8);
    rig.to_ready();
    CHECK(rig.rx_head() == 7);
    rig.reset();
    CHECK(rig.rx_head() == rig.rx_tail());
    CHECK(rig.rx_tail() == 0);
    rig.to_ready();
    CHECK(rig.receive(25) == "a greeting longer than RX");
}

TEST_CASE("simvirtio: exit mode: enabling RX while READY sends the rest of the greeting without a tail write",
          "[simvirtio]")
{
    SECTION("RX disabled and enabled again")
    {
        Rig rig({.greeting = "a greeting longer than RX"});
        rig.setup(64, 8);
        rig.to_ready();
        REQUIRE(rig.rx_head() == 7); // RX full with the first 7 bytes
        rig.wr(SIMVIRTIO_REG_Q1_CTL, 1, 0);
        rig.wr(SIMVIRTIO_REG_Q1_CTL, 1, SIMVIRTIO_QUEUE_ENABLE);
        // Enabling zeroed both indices; the device refilled RX at once.
        CHECK(rig.rx_tail() == 0);
        CHECK(rig.rx_head() == 7);
        CHECK(std::string(reinterpret_cast<const char *>(rig.ram(kRxBuffer, 7)), 7) == "ing lon");
        CHECK(rig.receive(18) == "ing longer than RX");
        CHECK(rig.status() == SIMVIRTIO_DEVICE_READY);
    }
    SECTION("RX enabled only after DRIVER_OK")
    {
        Rig rig({.greeting = "hi"});
        rig.configure(0, kTxBuffer, 64, kControl);
        rig.tx_len = 64;
        rig.to_ready();
        CHECK(rig.rd(SIMVIRTIO_REG_Q1_CTL, 1) == 0);
        rig.configure(1, kRxBuffer, 8, kControl + 8);
        rig.rx_len = 8;
        CHECK(rig.rx_head() == 2);
        CHECK(rig.pop() == "hi");
    }
}

TEST_CASE("simvirtio: a guest that enters DEVICE_ERROR and resets in a loop cannot flood the log", "[simvirtio]")
{
    // The device's summary line is at info, below the default level.
    const auto saved_level = logging::level();
    logging::set_level(spdlog::level::info);
    struct Restore {
        spdlog::level::level_enum level;
        ~Restore() { logging::set_level(level); }
    } restore{saved_level};
    Rig rig;
    rig.setup();
    Capture err(STDERR_FILENO);
    for (int i = 0; i < 1000; ++i) {
        rig.driver_status(3); // BAD_DRIVER_STATUS
        rig.reset();
    }
    const uint8_t status = rig.status();
    rig.device.reset(); // the total is logged when the device goes away
    const std::string log = err.finish();
    INFO(log);
    CHECK(status == SIMVIRTIO_DEVICE_RESET);
    // 64 errors, the line saying that the rest are debug lines, and the
    // count at 128, 256 and 512.
    CHECK(count_of(log, "warning: ") == 68);
    CHECK(count_of(log, "warning: DEVICE_ERROR BAD_DRIVER_STATUS: invalid driver status 0x03") == 64);
    CHECK(count_of(log, "warning: DEVICE_ERROR entered 65 times: from now on each is logged at debug level only") == 1);
    CHECK(count_of(log, "warning: DEVICE_ERROR entered 128 times (64 of them logged at debug level only)") == 1);
    CHECK(count_of(log, "warning: DEVICE_ERROR entered 512 times (448 of them logged at debug level only)") == 1);
    CHECK(count_of(log, "info: DEVICE_ERROR entered 1000 times in all (936 of them logged at debug level only)") == 1);
}

TEST_CASE("simvirtio: 'R' keeps the driver status, so after an error in READY 'C' needs DRIVER_ACK first",
          "[simvirtio][poll]")
{
    for (const bool poll : {false, true}) {
        DYNAMIC_SECTION(mode_name(poll))
        {
            Rig rig({.notify = mode_name(poll)});
            rig.setup();
            rig.to_ready();
            rig.wr(SIMVIRTIO_REG_QUEUE_SEL, 1, 2); // BAD_SELECTOR while READY
            REQUIRE(rig.status() == SIMVIRTIO_DEVICE_ERROR);
            CHECK(rig.rd(SIMVIRTIO_REG_DRIVER_STATUS, 1) == SIMVIRTIO_DRIVER_OK);
            rig.command('R');
            CHECK(rig.status() == SIMVIRTIO_DEVICE_RESET);
            CHECK(rig.error() == SIMVIRTIO_ERR_NONE);
            CHECK(rig.rd(SIMVIRTIO_REG_DRIVER_STATUS, 1) == SIMVIRTIO_DRIVER_OK); // 'R' leaves it
            // 'C' right after that 'R' is refused...
            Capture err(STDERR_FILENO);
            rig.command('C');
            const std::string log = err.finish();
            CHECK(rig.status() == SIMVIRTIO_DEVICE_ERROR);
            CHECK(rig.error() == SIMVIRTIO_ERR_OUT_OF_ORDER);
            CHECK_THAT(log, Catch::Contains("'C' with driver status 0x04 (needs DRIVER_ACK or DRIVER)"));
            // ... and the handshake as specified works: 'R', DRIVER_ACK, 'C'.
            rig.command('R');
            CHECK(rig.rd(SIMVIRTIO_REG_DRIVER_STATUS, 1) == SIMVIRTIO_DRIVER_OK);
            rig.driver_status(SIMVIRTIO_DRIVER_ACK);
            rig.command('C');
            CHECK(rig.status() == SIMVIRTIO_DEVICE_CONFIG);
            rig.driver_status(SIMVIRTIO_DRIVER_OK);
            CHECK(rig.status() == SIMVIRTIO_DEVICE_READY);
        }
    }
}

TEST_CASE("simvirtio: max_queue_length bounds the queues", "[simvirtio]")
{
    Rig rig({.max_queue_length = 100});
    CHECK(rig.rd(SIMVIRTIO_REG_MAX_QUEUE_LEN, 2) == 100);
    rig.setup(100, 2);
    CHECK(rig.status() == SIMVIRTIO_DEVICE_RESET);
    rig.configure(0, kTxBuffer, 101, 0);
    CHECK(rig.error() == SIMVIRTIO_ERR_BAD_LENGTH);
}

TEST_CASE("simvirtio: exit mode ignores the control-block address, poll mode reserves 0x40..0x4f", "[simvirtio][poll]")
{
    SECTION("exit")
    {
        Rig rig;
        rig.configure(0, kTxBuffer, 64, 3); // misaligned, unused
        CHECK(rig.rd(SIMVIRTIO_REG_Q0_CTL, 1) == 1);
        CHECK(rig.error() == 0);
        CHECK(rig.rd(SIMVIRTIO_REG_QUEUE_CB, 8) == 3);
    }
    SECTION("poll")
    {
        Rig rig({.notify = "poll"});
        rig.setup();
        Capture err(STDERR_FILENO);
        rig.wr(SIMVIRTIO_REG_Q0_HEAD, 4, 5);
        rig.wr(SIMVIRTIO_REG_Q1_TAIL, 4, 500);
        const std::string log = err.finish();
        CHECK(rig.rd(SIMVIRTIO_REG_Q0_HEAD, 8) == 0);
        CHECK(rig.rd(SIMVIRTIO_REG_Q1_HEAD, 8) == 0);
        CHECK(rig.status() == SIMVIRTIO_DEVICE_RESET);
        CHECK(rig.load(0, 0) == 0);
        CHECK_THAT(log, Catch::Contains("reserved offset(s) 0x40..0x43"));
    }
}

TEST_CASE("simvirtio: poll mode drains pending TX when the device is destroyed", "[simvirtio][poll]")
{
    auto rig = std::make_unique<Rig>(Options{.notify = "poll"});
    rig->setup(4096, 64);
    rig->to_ready();
    // Let the device thread go idle (it then sleeps up to 1 ms between
    // passes), queue data and destroy the device at once: only the drain
    // in the destructor can get the data out in time.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string data(4000, 'z');
    Capture out(STDOUT_FILENO);
    rig->push(data);
    rig->device.reset();
    CHECK(out.finish() == data);
}

TEST_CASE("simvirtio: a failing stdout is reported once and the device keeps consuming", "[simvirtio]")
{
    Rig rig;
    rig.setup();
    rig.to_ready();
    Capture err(STDERR_FILENO);
    const int full = ::open("/dev/full", O_WRONLY);
    REQUIRE(full >= 0);
    std::fflush(stdout);
    const int saved = ::dup(STDOUT_FILENO);
    ::dup2(full, STDOUT_FILENO);
    rig.send("first batch\n");
    rig.send("second batch\n");
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    ::close(full);
    const std::string log = err.finish();
    CHECK(count_of(log, "cannot write to stdout") == 1);
    CHECK_THAT(log, Catch::Contains("No space left on device"));
    CHECK(rig.status() == SIMVIRTIO_DEVICE_READY);
    CHECK(rig.tx_tail() == rig.tx_head());
}

TEST_CASE("simvirtio: a random driver never breaks the device (exit mode and poll mode)", "[simvirtio][poll]")
{
    // Random register writes of every size at every offset, biased towards
    // meaningful values, and random control-block contents in poll mode
    // (with the device thread reading them). The device must stay
    // consistent; AddressSanitizer catches any access outside guest RAM.
    for (const bool poll : {false, true}) {
        DYNAMIC_SECTION(mode_name(poll))
        {
            Rig rig({.notify = mode_name(poll), .greeting = "random greeting", .max_queue_length = 64});
            std::mt19937_64 random(poll ? 2 : 1);
            // Random bytes in every buffer the driver may point at, before
            // the device can read them.
            for (uint64_t a = 0; a < kRamSize; a += 8) {
                const uint64_t value = random();
                rig.host.ram.write(a, &value, 8);
            }
            // Buffers never land on the control blocks, which this thread
            // writes concurrently (a data race ThreadSanitizer would report,
            // in the test, not in the device).
            const uint64_t interesting[] = {0, 1, 2, 4, 0x80, 63, 64, 65, 'R', 'C', kTxBuffer, kRxBuffer,
                                            kRamSize - 8, kBase, ~0ull};
            const uint64_t control_blocks[] = {kControl, kControl + 8, kControl + 2, kRamSize - 4, kTxBuffer};
            const uint32_t sizes[] = {1, 2, 4, 8};
            Capture err(STDERR_FILENO);
            Capture out(STDOUT_FILENO);
            bool consistent = true;
            for (int i = 0; i < 20000 && consistent; ++i) {
                const uint32_t size = sizes[random() % 4];
                const uint64_t offset = random() % 3 == 0 ? random() % 0x110 : (random() % 0x14) * 4;
                const uint64_t value = random() % 2 ? interesting[random() % std::size(interesting)] : random();
                switch (random() % 8) {
                case 0: rig.rd(offset, size); break;
                case 1:
                    if (poll)
                        rig.store(static_cast<int>(random() % 2), static_cast<int>(random() % 2),
                                  static_cast<uint32_t>(random() % 80));
                    break;
                case 2: rig.wr(SIMVIRTIO_REG_DRIVER_STATUS, 1, interesting[random() % 6]); break;
                case 3: rig.wr(SIMVIRTIO_REG_QUEUE_CB, 8, control_blocks[random() % std::size(control_blocks)]); break;
                default: rig.wr(offset, size, value); break;
                }
                const uint8_t status = rig.status();
                const uint8_t error = rig.error();
                consistent = (status == 0 || status == 2 || status == 4 || status == 0x80) && error <= 7 &&
                             (status == 0x80) == (error != 0);
            }
            const std::string log = err.finish();
            out.finish();
            CHECK(consistent);
            CHECK_THAT(log, Catch::Contains("DEVICE_ERROR"));
            // And it still works.
            rig.reset();
            rig.write_table(0, {});
            rig.setup();
            rig.to_ready();
            CHECK(rig.receive(15) == "random greeting");
        }
    }
}

// ---- protocol 1.1 ------------------------------------------------------------------

TEST_CASE("simvirtio 1.1: without a device_table setting the driver gives the table through DEVICE_TABLE",
          "[simvirtio]")
{
    Rig rig({.table = -1});
    CHECK(rig.rd(SIMVIRTIO_REG_DEVICE_TABLE, 8) == SIMVIRTIO_TABLE_UNSET);
    rig.setup();
    rig.to_reset();
    rig.command('C'); // no table yet
    CHECK(rig.status() == SIMVIRTIO_DEVICE_ERROR);
    CHECK(rig.error() == SIMVIRTIO_ERR_BAD_ADDRESS);
    rig.reset();
    rig.wr(SIMVIRTIO_REG_DEVICE_TABLE, 8, kTable + 4); // misaligned
    rig.to_reset();
    rig.command('C');
    CHECK(rig.error() == SIMVIRTIO_ERR_BAD_ADDRESS);
    rig.reset();
    rig.wr(SIMVIRTIO_REG_DEVICE_TABLE, 4, 0x4000); // two 4-byte writes, as an i386 driver would
    rig.wr(SIMVIRTIO_REG_DEVICE_TABLE + 4, 4, 0);
    CHECK(rig.rd(SIMVIRTIO_REG_DEVICE_TABLE, 8) == 0x4000);
    rig.to_config();
    uint16_t count = 0;
    uint64_t entry = 0;
    REQUIRE(rig.host.ram.read(0x4000, &count, 2));
    REQUIRE(rig.host.ram.read(0x4008, &entry, 8));
    CHECK(count == 1);
    CHECK(entry == kBase);
}

TEST_CASE("simvirtio 1.1: 'C' is accepted after DRIVER (0x02) as after DRIVER_ACK", "[simvirtio]")
{
    Rig rig;
    rig.setup();
    rig.to_reset();
    rig.driver_status(SIMVIRTIO_DRIVER);
    rig.command('C');
    CHECK(rig.status() == SIMVIRTIO_DEVICE_CONFIG);
    CHECK(rig.error() == 0);
    rig.driver_status(SIMVIRTIO_DRIVER_OK);
    CHECK(rig.status() == SIMVIRTIO_DEVICE_READY);
}

TEST_CASE("simvirtio 1.1: the assignment's DRIVER_RESET, a 16-bit 0x8000 at DRIVER_STATUS, is a reset request",
          "[simvirtio]")
{
    Rig rig;
    rig.setup();
    rig.to_ready();
    rig.wr(SIMVIRTIO_REG_DRIVER_STATUS, 2, SIMVIRTIO_ASSIGNMENT_DRIVER_RESET);
    CHECK(rig.status() == SIMVIRTIO_DEVICE_RESET);
    CHECK(rig.error() == 0);
    CHECK(rig.rd(SIMVIRTIO_REG_QUEUE_SEL, 1) == 1); // untouched: not a selector of 0x80
    CHECK(rig.rd(SIMVIRTIO_REG_DRIVER_STATUS, 1) == 0);
    // Any other 16-bit value there is still two registers' bytes.
    rig.wr(SIMVIRTIO_REG_DRIVER_STATUS, 2, 0x8100);
    CHECK(rig.error() == SIMVIRTIO_ERR_BAD_SELECTOR);
}

TEST_CASE("simvirtio 1.1: RX_MSG_END and RX_MSG_COUNT mark where a message on RX ends", "[simvirtio][poll]")
{
    for (const std::string mode : kModes) {
        DYNAMIC_SECTION(mode)
        {
            Rig rig({.notify = mode, .greeting = "0123456789"}); // 10 bytes
            rig.setup(16, 8);                                    // RX holds 7
            rig.to_ready();
            REQUIRE(rig.status_becomes(SIMVIRTIO_DEVICE_READY));
            std::string got;
            REQUIRE(wait_until([&] { return rig.rx_head() != rig.rx_tail(); }));
            CHECK(rig.rd(SIMVIRTIO_REG_RX_MSG_COUNT, 4) == 0); // 7 of 10 bytes: not complete
            got += rig.pop();
            CHECK(got == "0123456");
            REQUIRE(wait_until([&] { return rig.rd(SIMVIRTIO_REG_RX_MSG_COUNT, 4) == 1; }));
            const uint32_t end = static_cast<uint32_t>(rig.rd(SIMVIRTIO_REG_RX_MSG_END, 4));
            CHECK(end == 10 % 8);
            got += rig.pop();
            CHECK(got == "0123456789");
            CHECK(rig.rx_tail() == end); // the driver consumed exactly the message
            rig.reset();
            CHECK(rig.rd(SIMVIRTIO_REG_RX_MSG_COUNT, 4) == 0);
        }
    }
}

TEST_CASE("simvirtio 1.1: output to a file, or discarded", "[simvirtio]")
{
    const std::string path = "/tmp/vmm-unit-simvirtio-output-" + std::to_string(::getpid()) + ".txt";
    {
        Rig rig({.output = "file:" + path});
        rig.setup();
        rig.to_ready();
        rig.send("to the file\n");
    }
    std::FILE *file = std::fopen(path.c_str(), "r");
    REQUIRE(file != nullptr);
    char text[64] = {};
    const std::size_t n = std::fread(text, 1, sizeof text - 1, file);
    std::fclose(file);
    std::remove(path.c_str());
    CHECK(std::string(text, n) == "to the file\n");

    Rig rig({.output = "discard"});
    rig.setup();
    rig.to_ready();
    Capture out(STDOUT_FILENO);
    rig.send("nowhere\n");
    CHECK(out.finish().empty());
    CHECK(rig.tx_tail() == rig.tx_head());
}

TEST_CASE("simvirtio 1.1: a slow output holds TX back instead of dropping it", "[simvirtio]")
{
    // A UNIX socket nobody reads at first: 400 KiB is far more than the
    // device's buffer (128 KiB) and the socket's together, so with the old
    // drop-what-does-not-fit output bytes would be lost.
    const std::string path = "/tmp/vmm-unit-simvirtio-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path.c_str());
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(listener, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener, 1) == 0);

    std::string data;
    for (int i = 0; data.size() < 400 * 1024; ++i)
        data += "line " + std::to_string(i) + " of the stream\n";
    std::string received;
    {
        Rig rig({.output = "unix:" + path});
        const int peer = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        REQUIRE(peer >= 0);
        std::thread reader([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300)); // let the output fill up
            char buffer[65536];
            while (received.size() < data.size()) {
                const ssize_t n = ::read(peer, buffer, sizeof buffer);
                if (n <= 0)
                    break;
                received.append(buffer, static_cast<std::size_t>(n));
            }
        });
        rig.setup(4096, 64);
        rig.to_ready();
        rig.send(data); // exit mode: the driver's tail reads retry what waits
        reader.join();
        ::close(peer);
    }
    ::close(listener);
    ::unlink(path.c_str());
    CHECK(received.size() == data.size());
    CHECK(received == data);
}
