// The GDB stub's pure parts: packet framing, request parsing, the register
// file's layout, and the debug-register table.
#include "debug/debug_registers.hpp"
#include "debug/gdb_packet.hpp"
#include "debug/gdb_registers.hpp"
#include "debug/gdb_request.hpp"

#include <catch2/catch.hpp>

using namespace vmm::gdb;
using Kind = Request::Kind;

TEST_CASE("framing: packets, acks, Ctrl-C, bad checksums and over-long packets", "[gdb]")
{
    Framer framer;
    auto events = framer.feed("+$qC#b4-\x03$g#00");
    REQUIRE(events.size() == 5);
    CHECK(events[0].kind == FramedEvent::Kind::ack);
    CHECK(events[1].kind == FramedEvent::Kind::packet);
    CHECK(events[1].payload == "qC");
    CHECK(events[2].kind == FramedEvent::Kind::nack);
    CHECK(events[3].kind == FramedEvent::Kind::interrupt);
    CHECK(events[4].kind == FramedEvent::Kind::bad); // g's checksum is 67
    // Split across reads.
    CHECK(framer.feed("$g#6").empty());
    CHECK(framer.in_packet());
    events = framer.feed("7");
    REQUIRE(events.size() == 1);
    CHECK(events[0].payload == "g");
    // Longer than any packet we take: dropped whole, answered as bad.
    const std::string huge(kMaxPacket + 10, 'a');
    events = framer.feed(frame(huge));
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == FramedEvent::Kind::bad);
    // A '$' inside a packet cuts the first one short.
    events = framer.feed("$m0$qC#b4");
    REQUIRE(events.size() == 2);
    CHECK(events[0].kind == FramedEvent::Kind::bad);
    CHECK(events[1].payload == "qC");
}

TEST_CASE("framing: replies escape what the protocol reserves", "[gdb]")
{
    CHECK(frame("OK") == "$OK#9a");
    const std::string framed = frame("a$b#c}d*e");
    CHECK(framed.substr(0, 15) == "$a}\x04" "b}\x03" "c}]d}\x0a" "e#");
    Framer framer;
    const auto events = framer.feed(framed);
    REQUIRE(events.size() == 1);
    REQUIRE(events[0].kind == FramedEvent::Kind::packet);
    CHECK(unescape_binary(events[0].payload) == "a$b#c}d*e");
    CHECK_FALSE(unescape_binary("ab}").has_value());
}

TEST_CASE("hex helpers refuse what is not hex", "[gdb]")
{
    CHECK(parse_hex_number("ffffffffffffffff") == 0xffffffffffffffffull);
    CHECK_FALSE(parse_hex_number("10000000000000000").has_value());
    CHECK_FALSE(parse_hex_number("").has_value());
    CHECK_FALSE(parse_hex_number("12g").has_value());
    CHECK_FALSE(decode_hex("abc").has_value());
    CHECK(decode_hex("00ff") == std::vector<uint8_t>{0, 255});
    CHECK(to_hex(std::string("AZ")) == "415a");
}

TEST_CASE("requests: the packets gdb sends, parsed", "[gdb]")
{
    CHECK(parse_request("qSupported:multiprocess+;swbreak+").kind == Kind::supported);
    Request r = parse_request("qXfer:features:read:target.xml:0,ffb");
    CHECK(r.kind == Kind::features);
    CHECK(r.text == "target.xml");
    CHECK(r.length == 0xffb);
    r = parse_request("m1000,40");
    CHECK(r.kind == Kind::read_memory);
    CHECK(r.address == 0x1000);
    CHECK(r.length == 0x40);
    r = parse_request("X1000,3:a}]b");
    CHECK(r.kind == Kind::write_memory);
    CHECK(r.data == std::vector<uint8_t>{'a', '}', 'b'});
    r = parse_request("Z2,400,4");
    CHECK(r.kind == Kind::insert_point);
    CHECK(r.point_type == 2);
    CHECK(r.length == 4);
    r = parse_request("vCont;s:2;c");
    REQUIRE(r.kind == Kind::resume);
    REQUIRE(r.actions.size() == 2);
    CHECK(r.actions[0].kind == ResumeKind::step);
    CHECK(r.actions[0].thread == 2);
    CHECK(r.actions[1].thread == kAllThreads);
    r = parse_request("Hg-1");
    CHECK(r.kind == Kind::set_thread);
    CHECK(r.thread == kAllThreads);
    r = parse_request("qRcmd,68656c70");
    CHECK(r.kind == Kind::monitor);
    CHECK(r.text == "help");
    CHECK(parse_request("vMustReplyEmpty").kind == Kind::unsupported);
}

TEST_CASE("requests: malformed ones are told apart from unknown ones", "[gdb]")
{
    for (const char *bad : {"m", "m10", "m,4", "mzz,1", "M0,2:00", "M0,1:zz", "X0,2:a", "X0,1:}", "Z9,0,1", "Z1",
                            "Hx1", "Hgzz", "T", "p", "Pzz=00", "P1=", "vCont;q", "qRcmd,6", "c12g",
                            "qXfer:features:read:target.xml", "qThreadExtraInfo,", "g1"})
        CHECK(parse_request(bad).kind == Kind::malformed);
    CHECK(parse_request("").kind == Kind::unsupported);
    CHECK(parse_request("!").kind == Kind::unsupported);
}

TEST_CASE("registers: both layouts, and what gdb's numbering maps to", "[gdb]")
{
    RegisterFile file;
    file.regs.rax = 0x1122334455667788ull;
    file.regs.rsp = 0x8000;
    file.regs.rbp = 0x9000;
    file.regs.rip = 0x1000;
    file.sregs.cr3 = 0x5000;
    CHECK(register_count(Arch::x86_64) == 65);
    CHECK(register_name(Arch::x86_64, 6) == "rbp");
    CHECK(register_name(Arch::x86_64, 7) == "rsp");
    CHECK(read_register(Arch::x86_64, file, 7) == std::vector<uint8_t>{0, 0x80, 0, 0, 0, 0, 0, 0});
    CHECK(read_register(Arch::i386, file, 4) == std::vector<uint8_t>{0, 0x80, 0, 0}); // esp
    CHECK(read_register(Arch::i386, file, 0) == std::vector<uint8_t>{0x88, 0x77, 0x66, 0x55});
    const std::size_t cr3 = register_count(Arch::x86_64) - 4;
    CHECK(register_name(Arch::x86_64, cr3) == "cr3");
    CHECK(read_register(Arch::x86_64, file, cr3) == std::vector<uint8_t>{0, 0x50, 0, 0, 0, 0, 0, 0});
    CHECK_FALSE(read_register(Arch::x86_64, file, 65).has_value());
    std::size_t total = 0;
    for (std::size_t i = 0; i < register_count(Arch::x86_64); ++i)
        total += register_size(Arch::x86_64, i);
    CHECK(read_all(Arch::x86_64, file).size() == total);

    // Writes: a 4-byte write to a 32-bit view keeps the upper half; a
    // selector changes only in real mode; sizes must match.
    const std::vector<uint8_t> one{1, 0, 0, 0};
    CHECK_FALSE(write_register(Arch::i386, file, 0, one).has_value());
    CHECK(file.regs.rax == 0x1122334400000001ull);
    file.sregs.cr0 = 1;
    CHECK(write_register(Arch::x86_64, file, 18, std::vector<uint8_t>{8, 0, 0, 0}).has_value());
    file.sregs.cr0 = 0;
    CHECK_FALSE(write_register(Arch::x86_64, file, 18, std::vector<uint8_t>{0, 1, 0, 0}).has_value());
    CHECK(file.sregs.cs.base == 0x1000);
    CHECK(write_register(Arch::x86_64, file, 16, one).has_value());
    // G: whole file round trip.
    RegisterFile copy;
    const auto all = read_all(Arch::x86_64, file);
    CHECK_FALSE(write_all(Arch::x86_64, copy, all).has_value());
    CHECK(read_all(Arch::x86_64, copy) == all);
    CHECK(write_all(Arch::x86_64, copy, std::vector<uint8_t>(all.size() + 1)).has_value());
    CHECK_THAT(target_xml(Arch::x86_64), Catch::Contains("<architecture>i386:x86-64</architecture>") &&
                                             Catch::Contains("name=\"cr3\""));
    CHECK_THAT(target_xml(Arch::i386), Catch::Contains("<architecture>i386</architecture>") &&
                                           Catch::Contains("name=\"eip\""));
}

TEST_CASE("debug registers: four slots, DR7, and refusals", "[gdb]")
{
    DebugRegisters dr;
    CHECK_FALSE(dr.insert(PointType::hardware, 0x1000, 1).has_value());
    CHECK_FALSE(dr.insert(PointType::hardware, 0x1000, 1).has_value()); // the same: one slot
    CHECK_FALSE(dr.insert(PointType::write, 0x400, 4).has_value());
    CHECK(dr.insert(PointType::write, 0x402, 4).has_value()); // unaligned
    CHECK(dr.insert(PointType::access, 0x400, 3).has_value()); // no such length
    CHECK_FALSE(dr.insert(PointType::read, 0x408, 8).has_value());
    CHECK_FALSE(dr.insert(PointType::software, 0x2000, 1).has_value());
    CHECK(dr.insert(PointType::hardware, 0x3000, 1).has_value()); // a fifth
    // Slot 0 execute, 1 write 4 bytes, 2 read/write 8 bytes, 3 execute; GE.
    CHECK(dr.dr7() == (0x55ull | 1ull << 9 | (0x1ull | 0x3ull << 2) << 20 | (0x3ull | 0x2ull << 2) << 24));
    CHECK(dr.addresses()[1] == 0x400);
    CHECK(dr.triggered(0x4002) == 1u);
    CHECK_FALSE(dr.triggered(0x4000).has_value());
    CHECK(dr.remove(PointType::write, 0x400, 4));
    CHECK_FALSE(dr.remove(PointType::write, 0x400, 4));
    CHECK_FALSE(dr.triggered(0x2).has_value());
    dr.clear();
    CHECK(dr.empty());
    CHECK(dr.dr7() == 0);
}
