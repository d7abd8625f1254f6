// End to end: guests in every x86 mode, ELF and multiboot images, checks on
// the final state, the JSON report, and several vCPUs.
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {

} // namespace

TEST_CASE("so2-real16: real mode writes 42 at 0x400 and in AX, and both checks pass", "[e2e][modes]")
{
    const ProcessResult r = run_machine("so2-real16");
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.err, Catch::Contains("check rax of vcpu 0 = 0x2a: ok"));
    CHECK_THAT(r.err, Catch::Contains("check u16 at 0x400 = 0x2a: ok"));
}

TEST_CASE("so2-long64: a C guest in long mode prints on port 0xE9 and passes its checks", "[e2e][modes]")
{
    const ProcessResult r = run_machine("so2-long64");
    CHECK(r.exit_status == 0);
    CHECK(r.out == "Hello, world!\n");
    CHECK_THAT(r.err, Catch::Contains("check rax of vcpu 0 = 0x2a: ok"));
    CHECK_THAT(r.err, Catch::Contains("check u32 at 0x400 = 0x2a: ok"));
}

TEST_CASE("protected32: a 32-bit C guest prints a line and halts", "[e2e][modes]")
{
    const ProcessResult r = run_machine("protected32");
    CHECK(r.exit_status == 0);
    CHECK(r.out == "Hello from 32-bit protected mode\n");
    CHECK_THAT(r.err, !Catch::Contains("expected"));
}

TEST_CASE("port-trace: the seed-003 guest's three port writes are logged in order", "[e2e][modes]")
{
    const ProcessResult r = run_machine("port-trace");
    CHECK(r.exit_status == 0);
    const auto first = r.err.find("[trace] info: out  port+0x0 (region 0) size 2 value 0x0000");
    const auto second = r.err.find("[trace] info: out  port+0x0 (region 0) size 2 value 0x0001");
    const auto third = r.err.find("[trace] info: out  port+0x0 (region 0) size 2 value 0x0002");
    REQUIRE(first != std::string::npos);
    REQUIRE(second != std::string::npos);
    REQUIRE(third != std::string::npos);
    CHECK(first < second);
    CHECK(second < third);
}

TEST_CASE("smp: four vCPUs each print their index once, under a lock", "[e2e][modes][smp]")
{
    const ProcessResult r = run_machine("smp", {"-v"});
    CHECK(r.exit_status == 0);
    std::istringstream lines(r.out);
    std::multiset<std::string> seen;
    for (std::string line; std::getline(lines, line);)
        seen.insert(line);
    CHECK(seen == std::multiset<std::string>{"vcpu 0", "vcpu 1", "vcpu 2", "vcpu 3"});
    CHECK_THAT(r.err, Catch::Contains("check u32 at 0x500 = 0x4: ok"));
    for (int i = 0; i < 4; ++i)
        CHECK_THAT(r.err, Catch::Contains("vcpu " + std::to_string(i) + ": halted"));
}

TEST_CASE("smp-irqchip: the BSP wakes three APs with INIT/SIPI through the in-kernel LAPIC", "[e2e][modes][smp]")
{
    const ProcessResult r = run_machine("smp-irqchip");
    CHECK(r.exit_status == 0);
    CHECK(r.out == "all 3 APs up\n");
    CHECK_THAT(r.err, Catch::Contains("check u32 at 0x500 = 0x3: ok"));
}

TEST_CASE("multiboot: the kernel gets its command line and memory sizes", "[e2e][modes]")
{
    const ProcessResult r = run_machine("multiboot");
    CHECK(r.exit_status == 0);
    // The information block is in low memory, where QEMU puts it, not after
    // the kernel (at 1 MiB) where the kernel's allocator would start.
    CHECK(r.out == "info at 0x00009000\ncmdline: hello from the machine file\n"
                   "mem_lower: 640 KiB, mem_upper: 3072 KiB\n");
}

TEST_CASE("the --report option writes the run as JSON: exits by reason, registers, checks", "[e2e][modes]")
{
    TempDir dir;
    const std::string report = (dir.path / "report.json").string();
    const ProcessResult r = run_machine("so2-long64", {"--report", report});
    REQUIRE(r.exit_status == 0);
    std::ifstream in(report);
    const nlohmann::json j = nlohmann::json::parse(in);
    CHECK(j["machine"] == "so2-long64");
    CHECK(j["exit_status"] == 0);
    CHECK(j["stop"]["cause"] == "all vCPUs halted");
    // One port exit per byte of "Hello, world!\n", then the HLT.
    CHECK(j["exits"]["by_reason"]["IO"] == 14);
    CHECK(j["exits"]["by_reason"]["HLT"] == 1);
    CHECK(j["exits"]["total"] == 15);
    REQUIRE(j["vcpus"].size() == 1);
    CHECK(j["vcpus"][0]["end"] == "halted");
    CHECK(j["vcpus"][0]["registers"]["rax"] == 42);
    CHECK(j["vcpus"][0]["registers"]["rsp"] == 0x100000);
    CHECK((j["vcpus"][0]["registers"]["efer"].get<uint64_t>() & 0x500) == 0x500); // LME | LMA
    REQUIRE(j["checks"].size() == 2);
    CHECK(j["checks"][0]["passed"] == true);
    CHECK(j["checks"][1]["actual"] == 42);
}

TEST_CASE("a machine file whose name is not UTF-8 still gets its report", "[e2e][modes]")
{
    TempDir dir;
    // Latin-1 "café": a valid Linux file name, not UTF-8. JSON must be
    // UTF-8: the byte is written as U+FFFD instead of failing the report.
    const std::string machine = dir.write("caf\xe9.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"real\"\nentry = 0\n"
                                                           "[[image]]\nfile = \"so2-real16.bin\"\naddress = 0\n");
    const std::string report = (dir.path / "report.json").string();
    const ProcessResult r = run_vmm({"--config", machine, "--report", report});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.err, !Catch::Contains("internal error"));
    std::ifstream in(report);
    const nlohmann::json j = nlohmann::json::parse(in);
    CHECK(j["file"] == (dir.path / "caf\xef\xbf\xbd.toml").string());
    CHECK(j["exit_status"] == 0);
}

TEST_CASE("a failing check prints expected and got, and makes the status non-zero", "[e2e][modes]")
{
    TempDir dir;
    const std::string machine = dir.write("m.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"real\"\nentry = 0\n"
                                                    "[[image]]\nfile = \"so2-real16.bin\"\naddress = 0\n"
                                                    "[[check]]\nregister = \"rax\"\nequals = 43\n"
                                                    "[[check]]\nmemory = 0x400\nwidth = 2\nequals = 42\n");
    const ProcessResult r = run_vmm({"--config", machine});
    show(r);
    CHECK(r.exit_status == 1);
    CHECK_THAT(r.err, Catch::Contains("check rax of vcpu 0: expected 0x2b, got 0x2a (at " + machine + ":9:1)"));
    CHECK_THAT(r.err, Catch::Contains("check u16 at 0x400 = 0x2a: ok"));

    // A check that could not read anything is refused before the run.
    const std::string outside = dir.write("outside.toml", read_file(machine) + "[[check]]\nmemory = 0x7ffffff0\n"
                                                                               "width = 8\nequals = 0\n");
    const ProcessResult refused = run_vmm({"--config", outside});
    show(refused);
    CHECK(refused.exit_status == 2);
    CHECK(refused.out.empty());
    CHECK(refused.err == outside + ":16:1: check of 8 bytes at 0x7ffffff0 is outside guest RAM (0-0xfffff) and every "
                                   "ROM image\n");
}

TEST_CASE("a malformed image is refused by vmm with its location and status 2", "[e2e][modes]")
{
    TempDir dir;
    std::string elf(100, '\0');
    elf.replace(0, 4, "\x7f" "ELF");
    dir.write("bad.elf", elf);
    const std::string machine = dir.write("m.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\n"
                                                    "[[image]]\nfile = \"bad.elf\"\n");
    const ProcessResult r = run_vmm({"--config", machine});
    show(r);
    CHECK(r.exit_status == 2);
    CHECK(r.err == machine + ":6:8: bad.elf: ELF file is not little-endian\n");
}

TEST_CASE("guest output is not written into another file when vmm starts with stdout closed", "[e2e][modes]")
{
    ProcessOptions options;
    options.close_stdout = true;
    const ProcessResult r = run_vmm({"--config", "machines/so2-long64.toml"}, options);
    show(r);
    CHECK(r.exit_status == 0);
    CHECK_THAT(r.err, !Catch::Contains("cannot write"));
}
