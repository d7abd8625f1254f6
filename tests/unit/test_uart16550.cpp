// The 16550A core (plugins/serial/uart16550.hpp) without a host: a fake
// port records the interrupt output and the transmitted bytes, holds the
// output full on demand, and owns the clock, so the character timeout is
// tested by moving time by hand. Expectations follow the TI PC16550D
// datasheet (SLLS057), section 8.
#include "escape_keys.hpp"
#include "uart16550.hpp"
#include "uart_input.hpp"

#include <vmm/sdk/device.hpp>
#include <vmm/sdk/state.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace uart;

namespace {

struct Harness {
    uint64_t now = 1'000'000;
    std::vector<bool> edges; // every interrupt() call, in order
    std::string out;
    std::size_t out_room = std::numeric_limits<std::size_t>::max();
    std::optional<uint64_t> armed;
    uint64_t dropped = 0;
    int rx_space = 0;
    Uart16550 uart{port()};

    UartPort port()
    {
        UartPort p;
        p.interrupt = [this](bool level) { edges.push_back(level); };
        p.transmit = [this](uint8_t byte) {
            if (out_room == 0)
                return false;
            --out_room;
            out.push_back(static_cast<char>(byte));
            return true;
        };
        p.rx_space = [this] { ++rx_space; };
        p.now_ns = [this] { return now; };
        p.arm_timer = [this](uint64_t delay) { armed = delay; };
        p.dropped = [this](uint64_t total) { dropped = total; };
        return p;
    }

    uint8_t rd(uint64_t offset)
    {
        uint8_t v = 0;
        uart.read(offset, std::span<uint8_t>(&v, 1));
        return v;
    }
    void wr(uint64_t offset, uint8_t v) { uart.write(offset, std::span<const uint8_t>(&v, 1)); }
    void receive(const std::string &text)
    {
        for (char c : text)
            uart.receive(static_cast<uint8_t>(c));
    }
    bool level() const { return uart.interrupt_level(); }
};

} // namespace

TEST_CASE("uart: reset values", "[uart]")
{
    Harness h;
    CHECK(h.rd(reg::kIirFcr) == 0x01);
    CHECK(h.rd(reg::kLsr) == 0x60);
    CHECK(h.rd(reg::kMsr) == 0xb0);
    CHECK(h.rd(reg::kLcr) == 0x03);
    CHECK(h.rd(reg::kIer) == 0x00);
    CHECK(h.rd(8) == 0xff); // past the eight registers
    h.wr(reg::kLcr, 0x83);
    CHECK(h.rd(reg::kData) == 0x01); // DLL: 115200 baud
    CHECK(h.rd(reg::kIer) == 0x00);  // DLM
    CHECK(h.edges.empty());
}

TEST_CASE("uart: THRE interrupt rules", "[uart]")
{
    Harness h;
    h.wr(reg::kMcr, kMcrOut2);
    // Enabling ETBEI with THR empty raises it at once.
    h.wr(reg::kIer, kIerThre);
    CHECK(h.level());
    CHECK(h.rd(reg::kIirFcr) == 0x02);
    // Reading IIR while THRE is the source clears it.
    CHECK_FALSE(h.level());
    CHECK(h.rd(reg::kIirFcr) == 0x01);
    // Writing IER again with ETBEI already set does not raise it.
    h.wr(reg::kIer, kIerThre);
    CHECK_FALSE(h.level());
    // Writing THR clears it; the byte leaves at once, the transmitter
    // empties, and it is set again.
    h.wr(reg::kData, 'a');
    CHECK(h.out == "a");
    CHECK(h.level());
    // Writing THR clears it (and a held byte keeps it clear).
    h.out_room = 0;
    h.wr(reg::kData, 'b');
    CHECK_FALSE(h.level());
    CHECK(h.rd(reg::kIirFcr) == 0x01);
    // Set again when the transmitter empties.
    h.out_room = 10;
    h.uart.tx_ready();
    CHECK(h.out == "ab");
    CHECK(h.level());
    // Disabling ETBEI drops it; enabling it again (THR empty) raises it.
    h.wr(reg::kIer, 0);
    CHECK_FALSE(h.level());
    h.wr(reg::kIer, kIerThre);
    CHECK(h.level());
    // The line changed only on edges, never twice the same way.
    for (std::size_t i = 1; i < h.edges.size(); ++i)
        CHECK(h.edges[i] != h.edges[i - 1]);
}

TEST_CASE("uart: OUT2 gates the interrupt output", "[uart]")
{
    Harness h;
    h.wr(reg::kIer, kIerThre);
    CHECK(h.rd(reg::kIirFcr) == 0x02); // pending inside the chip...
    h.wr(reg::kIer, 0);
    h.wr(reg::kIer, kIerThre);
    CHECK_FALSE(h.level()); // ...but the pin stays low without OUT2
    CHECK(h.edges.empty());
    h.wr(reg::kMcr, kMcrOut2);
    CHECK(h.level());
    h.wr(reg::kMcr, 0);
    CHECK_FALSE(h.level());
    CHECK(h.edges == std::vector<bool>{true, false});
}

TEST_CASE("uart: IIR priorities: line status > received data > THRE > modem status", "[uart]")
{
    Harness h;
    h.wr(reg::kMcr, kMcrOut2 | kMcrLoop);
    h.wr(reg::kMcr, kMcrOut2); // CTS and DSR went away and came back: DCTS, DDSR
    h.wr(reg::kIer, kIerMask);
    h.uart.receive_break();
    CHECK(h.rd(reg::kIirFcr) == 0x06); // line status (BI)
    CHECK(h.rd(reg::kLsr) == (kLsrBreak | kLsrDataReady | kLsrThre | kLsrTemt));
    CHECK(h.rd(reg::kIirFcr) == 0x04); // the break's zero byte
    CHECK(h.rd(reg::kData) == 0x00);
    CHECK(h.rd(reg::kIirFcr) == 0x02); // THRE (cleared by this read)
    CHECK(h.rd(reg::kIirFcr) == 0x00); // modem status
    CHECK(h.level());
    CHECK(h.rd(reg::kMsr) == (0xb0 | kMsrDeltaCts | kMsrDeltaDsr));
    CHECK(h.rd(reg::kIirFcr) == 0x01);
    CHECK_FALSE(h.level());
}

TEST_CASE("uart: receive FIFO trigger levels", "[uart]")
{
    const std::pair<uint8_t, std::size_t> levels[] = {{0x00, 1}, {0x40, 4}, {0x80, 8}, {0xc0, 14}};
    for (const auto &[bits, level] : levels) {
        Harness h;
        h.wr(reg::kMcr, kMcrOut2);
        h.wr(reg::kIirFcr, kFcrEnable | bits);
        h.wr(reg::kIer, kIerRxData);
        INFO("trigger " << level);
        h.receive(std::string(level - 1, 'x'));
        CHECK(h.rd(reg::kIirFcr) == 0xc1);
        h.receive("y");
        CHECK(h.rd(reg::kIirFcr) == 0xc4);
        CHECK(h.level());
        CHECK(h.uart.rx_room() == kFifoSize - level);
        h.rd(reg::kData); // below the trigger again
        CHECK(h.rd(reg::kIirFcr) == 0xc1);
    }
    // Without FIFOs, one byte is enough and RBR holds one.
    Harness h;
    h.wr(reg::kIer, kIerRxData);
    CHECK(h.uart.rx_room() == 1);
    h.receive("a");
    CHECK(h.rd(reg::kIirFcr) == 0x04);
    CHECK(h.uart.rx_room() == 0);
}

TEST_CASE("uart: FCR clears the FIFOs; toggling FCR0 clears both; unread input is kept", "[uart]")
{
    Harness h;
    h.wr(reg::kIirFcr, kFcrEnable);
    h.wr(reg::kMcr, kMcrLoop);
    for (char c : std::string("abc"))
        h.wr(reg::kData, static_cast<uint8_t>(c));
    CHECK(h.rd(reg::kLsr) & kLsrDataReady);
    h.wr(reg::kIirFcr, kFcrEnable | kFcrClearRx);
    CHECK((h.rd(reg::kLsr) & kLsrDataReady) == 0);
    h.wr(reg::kData, 'z');
    h.wr(reg::kIirFcr, 0);
    CHECK((h.rd(reg::kLsr) & kLsrDataReady) == 0);
    CHECK(h.rd(reg::kIirFcr) == 0x01);
    h.wr(reg::kMcr, 0);
    // Input that arrived before the driver cleared the FIFO is not noise:
    // it waits in the queue and comes in again.
    h.receive("de");
    h.wr(reg::kIirFcr, kFcrEnable | kFcrClearRx);
    CHECK(h.rd(reg::kData) == 'e'); // RBR without FIFOs: d was overrun by e
    h.receive("fg");
    h.wr(reg::kIirFcr, 0);
    CHECK(h.rd(reg::kData) == 'f');
    CHECK(h.rd(reg::kData) == 'g');
    CHECK((h.rd(reg::kLsr) & kLsrDataReady) == 0);
}

TEST_CASE("uart: character timeout in FIFO mode", "[uart]")
{
    Harness h;
    h.wr(reg::kMcr, kMcrOut2);
    h.wr(reg::kIirFcr, kFcrEnable | 0xc0); // trigger 14
    h.wr(reg::kIer, kIerRxData);
    h.receive("abc");
    CHECK(h.rd(reg::kIirFcr) == 0xc1);
    // Four characters of 10 bits at 115200 baud.
    const uint64_t timeout = 4 * (10 * 1'000'000'000ull / 115200);
    REQUIRE(h.armed == timeout);
    // Too early (a byte came meanwhile): the timer is set again for the rest.
    h.now += timeout / 2;
    h.receive("d");
    h.now += timeout / 2;
    h.armed.reset();
    h.uart.timeout_expired();
    CHECK(h.rd(reg::kIirFcr) == 0xc1);
    REQUIRE(h.armed.has_value());
    CHECK(*h.armed == timeout / 2);
    h.now += *h.armed;
    h.uart.timeout_expired();
    CHECK(h.rd(reg::kIirFcr) == 0xcc);
    CHECK(h.level());
    // Reading a character clears it and restarts the timer.
    CHECK(h.rd(reg::kData) == 'a');
    CHECK(h.rd(reg::kIirFcr) == 0xc1);
    CHECK_FALSE(h.level());
    h.now += timeout;
    CHECK(h.rd(reg::kIirFcr) == 0xcc); // an IIR read notices it even without the timer
    // Slower line: 9600 baud, 8N2 with parity (12 bits).
    h.wr(reg::kLcr, 0x80 | 0x0f);
    h.wr(reg::kData, 12);
    h.wr(reg::kLcr, 0x0f);
    h.rd(reg::kData);
    h.rd(reg::kData);
    h.rd(reg::kData); // empty now
    h.uart.timeout_expired();
    h.armed.reset();
    h.receive("z");
    REQUIRE(h.armed.has_value());
    CHECK(*h.armed == 4 * (12 * 1'000'000'000ull * 12 / 115200));
    // No timeout without FIFOs.
    Harness plain;
    plain.wr(reg::kIer, kIerRxData);
    plain.receive("a");
    plain.now += 1'000'000'000;
    CHECK_FALSE(plain.armed.has_value());
    CHECK(plain.rd(reg::kIirFcr) == 0x04);
}

TEST_CASE("uart: loopback feeds THR to RBR and MCR to MSR, and keeps the pin low", "[uart]")
{
    Harness h;
    h.wr(reg::kIer, kIerRxData);
    h.wr(reg::kMcr, kMcrLoop | kMcrOut2);
    h.rd(reg::kMsr);
    h.wr(reg::kData, 'A');
    CHECK(h.out.empty());
    CHECK(h.rd(reg::kLsr) == (kLsrDataReady | kLsrThre | kLsrTemt));
    CHECK(h.rd(reg::kIirFcr) == 0x04);
    CHECK_FALSE(h.level());
    CHECK(h.rd(reg::kData) == 'A');
    CHECK(h.uart.rx_room() == 0); // the serial input is disconnected
    h.wr(reg::kMcr, kMcrLoop | kMcrDtr | kMcrRts | kMcrOut1 | kMcrOut2);
    CHECK((h.rd(reg::kMsr) & 0xf0) == 0xf0);
    h.wr(reg::kMcr, kMcrLoop);
    CHECK(h.rd(reg::kMsr) == (kMsrDeltaCts | kMsrDeltaDsr | kMsrTrailingRi | kMsrDeltaDcd));
    h.wr(reg::kMcr, 0);
    CHECK(h.rd(reg::kMsr) == (0xb0 | kMsrDeltaCts | kMsrDeltaDsr | kMsrDeltaDcd));
    h.wr(reg::kData, 'B');
    CHECK(h.out == "B");
}

TEST_CASE("uart: a full output holds the transmitter busy; bytes pushed anyway are dropped and counted", "[uart]")
{
    Harness h;
    h.out_room = 0;
    h.wr(reg::kData, '1');
    CHECK(h.rd(reg::kLsr) == 0x00); // THRE and TEMT clear: a polling driver waits
    h.wr(reg::kData, '2');
    h.wr(reg::kData, '3');
    CHECK(h.uart.tx_dropped() == 2);
    CHECK(h.dropped == 2);
    h.out_room = 100;
    CHECK(h.rd(reg::kLsr) == 0x60); // polling LSR moves it along
    CHECK(h.out == "1");
    // With FIFOs the transmitter holds sixteen.
    h.wr(reg::kIirFcr, kFcrEnable);
    h.out_room = 0;
    for (int i = 0; i < 17; ++i)
        h.wr(reg::kData, static_cast<uint8_t>('a' + i));
    CHECK(h.uart.tx_dropped() == 3);
    CHECK(h.uart.tx_waiting());
    h.out_room = 100;
    h.uart.tx_ready();
    CHECK(h.out == "1abcdefghijklmnop");
    CHECK(h.rd(reg::kLsr) == 0x60);
}

TEST_CASE("uart: overrun and break set LSR bits until LSR is read", "[uart]")
{
    Harness h;
    h.receive("ab"); // RBR holds one: b overwrites a
    CHECK(h.rd(reg::kLsr) == (kLsrOverrun | kLsrDataReady | 0x60));
    CHECK(h.rd(reg::kLsr) == (kLsrDataReady | 0x60));
    CHECK(h.rd(reg::kData) == 'b');
    h.wr(reg::kIirFcr, kFcrEnable);
    h.receive("x");
    h.uart.receive_break();
    // BI shows when the break reaches the top of the FIFO; bit 7 at once.
    CHECK(h.rd(reg::kLsr) == (kLsrFifoError | kLsrDataReady | 0x60));
    CHECK(h.rd(reg::kData) == 'x');
    CHECK(h.rd(reg::kLsr) == (kLsrFifoError | kLsrBreak | kLsrDataReady | 0x60));
    CHECK(h.rd(reg::kData) == 0);
    CHECK(h.rd(reg::kLsr) == (kLsrFifoError | 0x60)); // cleared by this read: no errors left
    CHECK(h.rd(reg::kLsr) == 0x60);
    h.receive(std::string(17, 'q'));
    CHECK(h.rd(reg::kLsr) == (kLsrOverrun | kLsrDataReady | 0x60));
}

TEST_CASE("uart: queued input enters as the FIFO makes room, then asks for more", "[uart]")
{
    Harness h;
    const std::string text = "hello";
    h.uart.queue_input(std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(text.data()), text.size()));
    CHECK(h.uart.rx_room() == 0);
    std::string read;
    while (h.rd(reg::kLsr) & kLsrDataReady)
        read.push_back(static_cast<char>(h.rd(reg::kData)));
    CHECK(read == "hello");
    CHECK(h.rx_space > 0);
}

TEST_CASE("uart: a version 1 state loads", "[uart][state]")
{
    const std::vector<uint8_t> v1 = vmm::sdk::StateWriter("uart16550", 1)
                                        .u8(0x0c) // DLL
                                        .u8(0x00) // DLM
                                        .u8(kIerThre)
                                        .u8(0x03)
                                        .u8(kMcrOut2 | kMcrDtr)
                                        .u8(0x5a)
                                        .boolean(true)
                                        .bytes(std::vector<uint8_t>{'y', 'z'})
                                        .finish();
    Harness h;
    h.uart.load(v1);
    CHECK(h.rd(reg::kScratch) == 0x5a);
    CHECK(h.rd(reg::kMcr) == (kMcrOut2 | kMcrDtr));
    CHECK(h.level()); // THR empty with ETBEI: the THRE interrupt
    CHECK(h.rd(reg::kIirFcr) == 0xc2);
    CHECK(h.rd(reg::kData) == 'y');
    CHECK(h.rd(reg::kData) == 'z');
    h.wr(reg::kLcr, 0x83);
    CHECK(h.rd(reg::kData) == 0x0c);
}

TEST_CASE("uart: the version 2 state round-trips, output not written yet included", "[uart][state]")
{
    Harness a;
    a.wr(reg::kMcr, kMcrOut2 | kMcrRts);
    a.wr(reg::kIirFcr, kFcrEnable | 0x40);
    a.wr(reg::kIer, kIerRxData | kIerLineStatus);
    a.wr(reg::kScratch, 0x42);
    a.receive("abc");
    a.uart.receive_break();
    a.out_room = 0;
    a.wr(reg::kData, 'T');
    const std::vector<uint8_t> unsent = {'u', 'v'};
    const std::vector<uint8_t> blob = a.uart.save(unsent);

    Harness b;
    b.out_room = 0;
    b.uart.load(blob);
    CHECK(b.edges == std::vector<bool>{true}); // the line told at once
    CHECK(b.uart.save() == blob);              // the same state, byte for byte
    b.out_room = 10;
    b.uart.tx_ready();
    CHECK(b.out == "uvT");
    CHECK(b.rd(reg::kScratch) == 0x42);
    CHECK(b.rd(reg::kIirFcr) == 0xc4); // four bytes: the trigger (the break is not at the top yet)
    CHECK(b.rd(reg::kData) == 'a');

    // A bad blob changes nothing.
    Harness c;
    c.wr(reg::kScratch, 7);
    std::vector<uint8_t> cut = blob;
    cut.pop_back();
    CHECK_THROWS_AS(c.uart.load(cut), vmm::sdk::StateError);
    CHECK(c.rd(reg::kScratch) == 7);
    CHECK_THROWS_AS(c.uart.load(vmm::sdk::StateWriter("uart16550", 3).finish()), vmm::sdk::StateError);
}

TEST_CASE("uart: the escape keys", "[uart]")
{
    EscapeKeys keys;
    using A = EscapeKeys::Action;
    CHECK(keys.feed('a').action == A::byte);
    CHECK(keys.feed(0x03).byte == 0x03); // Ctrl-C goes to the guest
    CHECK(keys.feed(kEscapeKey).action == A::none);
    CHECK(keys.feed('x').action == A::quit);
    keys.feed(kEscapeKey);
    CHECK(keys.feed('b').action == A::send_break);
    keys.feed(kEscapeKey);
    CHECK(keys.feed('h').action == A::help);
    keys.feed(kEscapeKey);
    const auto r = keys.feed(kEscapeKey);
    CHECK(r.action == A::byte);
    CHECK(r.byte == kEscapeKey);
    keys.feed(kEscapeKey);
    CHECK(keys.feed('q').action == A::none); // unknown: ignored, as in QEMU
    CHECK(keys.feed('q').action == A::byte);
}

TEST_CASE("uart: input_from values and paths are checked", "[uart]")
{
    CHECK(InputSpec::parse("none").kind == InputSpec::Kind::none);
    CHECK(InputSpec::parse("stdin").kind == InputSpec::Kind::stdin_);
    CHECK(InputSpec::parse("listen:/tmp/x").path == "/tmp/x");
    CHECK_THROWS_WITH(InputSpec::parse("tcp:1234"), Catch::StartsWith("input_from: 'tcp:1234' is not one of"));
    CHECK_THROWS_WITH(InputSpec::parse("file:"), "input_from: 'file:' names no path");
    CHECK_THROWS_WITH(InputSpec::parse("file:/nonexistent/in.txt").check(),
                      "input_from: cannot read '/nonexistent/in.txt': No such file or directory");
    CHECK_THROWS_WITH(InputSpec::parse("connect:/nonexistent/s").check(),
                      "input_from: cannot connect to '/nonexistent/s': No such file or directory");
    CHECK_THROWS_WITH(InputSpec::parse("listen:/nonexistent/dir/s").check(),
                      "input_from: cannot listen on '/nonexistent/dir/s': No such file or directory");
    CHECK_THROWS_WITH(InputSpec::parse("connect:/dev/null").check(),
                      "input_from: cannot connect to '/dev/null': Socket operation on non-socket");
    CHECK_NOTHROW(InputSpec::parse("file:/dev/null").check());
}
