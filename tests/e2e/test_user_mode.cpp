// End to end: `[cpu] mode = "user"`. The guest starts in long mode at CPL 3;
// HLT and every exception land in the VMM's own handler, which reports them:
// HLT ends the vCPU as in long mode, an exception ends the VM with its
// vector, error code and faulting RIP (guests/user-mode/user_faults.S puts
// each faulting instruction at a known address).
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace vmm::test;

namespace {

struct Run {
    ProcessResult process;
    nlohmann::json report;
};

// tests/machines/user-faults.toml with RBX = `action`, and its report.
Run run_action(int action)
{
    TempDir dir("user-mode");
    std::string text = read_file(paths::machines_dir() + "/user-faults.toml");
    const std::string from = "rbx = 0,";
    REQUIRE(text.find(from) != std::string::npos);
    text.replace(text.find(from), from.size(), "rbx = " + std::to_string(action) + ",");
    const std::string report = (dir.path / "report.json").string();
    Run run{run_vmm({"--config", dir.write("m.toml", text), "--report", report, "-v"}), {}}; // -v: the vCPU summary
    show(run.process);
    run.report = nlohmann::json::parse(read_file(report));
    REQUIRE(run.report["vcpus"].size() == 1);
    return run;
}

void check_exception(const Run &run, uint64_t vector, uint64_t error_code, uint64_t rip, const std::string &text)
{
    CHECK(run.process.exit_status == 1);
    CHECK_THAT(run.process.err, Catch::Contains("[vmm] error: vcpu 0: fatal exit: " + text));
    const nlohmann::json &vcpu = run.report["vcpus"][0];
    CHECK(vcpu["end"] == "fatal");
    REQUIRE(vcpu.contains("exception"));
    CHECK(vcpu["exception"]["vector"] == vector);
    CHECK(vcpu["exception"]["error_code"] == error_code);
    CHECK(vcpu["exception"]["rip"] == rip);
    // The registers are the guest's at the fault, not the handler's.
    CHECK(vcpu["registers"]["rip"] == rip);
}

} // namespace

TEST_CASE("user mode: HLT at CPL 3 ends the vCPU as in long mode, with the guest's registers", "[e2e][user-mode]")
{
    const Run run = run_action(0);
    CHECK(run.process.exit_status == 0);
    CHECK_THAT(run.process.err, Catch::Contains("vcpu 0: halted after 1 exits, last exit HLT at 002b:1106, rax=0x2a"));
    const nlohmann::json &vcpu = run.report["vcpus"][0];
    CHECK(vcpu["end"] == "halted");
    CHECK_FALSE(vcpu.contains("exception"));
    CHECK(vcpu["registers"]["rax"] == 42);
    CHECK(vcpu["registers"]["rip"] == 0x1106); // after the HLT at 0x1105
}

TEST_CASE("user mode: a privileged instruction at CPL 3 is reported as #GP with its RIP", "[e2e][user-mode]")
{
    check_exception(run_action(1), 13, 0, 0x1200,
                    "the guest raised #GP (general protection), vector 13, at CPL 3 at rip 0x1200, error code 0x0");
}

TEST_CASE("user mode: UD2 is reported as #UD", "[e2e][user-mode]")
{
    check_exception(run_action(2), 6, 0, 0x1300, "the guest raised #UD (invalid opcode), vector 6, at CPL 3 at rip 0x1300 (");
}

TEST_CASE("user mode: a division by zero is reported as #DE, with no error code", "[e2e][user-mode]")
{
    const Run run = run_action(3);
    check_exception(run, 0, 0, 0x1409, "the guest raised #DE (divide error), vector 0, at CPL 3 at rip 0x1409 (");
}

TEST_CASE("user mode: a write to an unmapped address is reported as #PF with error code and CR2", "[e2e][user-mode]")
{
    const Run run = run_action(4);
    check_exception(run, 14, 6, 0x150a,
                    "the guest raised #PF (page fault), vector 14, at CPL 3 at rip 0x150a, error code 0x6, address (cr2) "
                    "0x8000000000");
    CHECK(run.report["vcpus"][0]["exception"]["cr2"] == 0x8000000000ull);
}

TEST_CASE("user mode: the VMM's tables are supervisor-only: a write to them is a protection #PF", "[e2e][user-mode]")
{
    check_exception(run_action(5), 14, 7, 0x1600,
                    "the guest raised #PF (page fault), vector 14, at CPL 3 at rip 0x1600, error code 0x7, address (cr2) "
                    "0x200000");
}

TEST_CASE("user mode: INT n from CPL 3 is reported as the exception the host raises", "[e2e][user-mode]")
{
    const Run run = run_action(6);
    CHECK(run.process.exit_status == 1);
    REQUIRE(run.report["vcpus"][0].contains("exception"));
    const uint64_t vector = run.report["vcpus"][0]["exception"]["vector"];
    // kvm_pvm raises #UD at the INT; hardware finds no gate 0x80 in the
    // VMM's 32-entry IDT and raises #GP with the IDT index as error code.
    CHECK((vector == 6 || vector == 13));
    CHECK(run.report["vcpus"][0]["exception"]["rip"] == 0x1700);
    if (vector == 6)
        CHECK_THAT(run.process.err, Catch::Contains("(an INT n instruction: on kvm_pvm hosts INT n from CPL 3 raises #UD)"));
}

TEST_CASE("user mode: port I/O works at CPL 3 (the TSS's I/O bitmap allows every port)", "[e2e][user-mode]")
{
    const Run run = run_action(7);
    CHECK(run.process.exit_status == 0x33); // debug-exit, written at CPL 3
    CHECK_FALSE(run.report["vcpus"][0].contains("exception"));
}

TEST_CASE("user mode: the SO2 64-bit guest runs unchanged and passes its checks", "[e2e][user-mode]")
{
    TempDir dir("user-mode");
    std::string text = read_file(paths::configs_dir() + "/machines/so2-long64.toml");
    const std::string from = "mode = \"long\"";
    REQUIRE(text.find(from) != std::string::npos);
    text.replace(text.find(from), from.size(), "mode = \"user\"");
    const ProcessResult r = run_vmm({"--config", dir.write("so2-user.toml", text), "-v"});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(r.out == "Hello, world!\n");
    CHECK_THAT(r.err, Catch::Contains("last exit HLT at 002b:")); // it halted at CPL 3
    CHECK_THAT(r.err, Catch::Contains("check rax of vcpu 0 = 0x2a: ok"));
    CHECK_THAT(r.err, Catch::Contains("check u32 at 0x400 = 0x2a: ok"));
}

TEST_CASE("user mode: three vCPUs, each with its own TSS and handler stack, halt and fault independently",
          "[e2e][user-mode]")
{
    for (const int action : {0, 4}) {
        TempDir dir("user-mode");
        std::string text = read_file(paths::machines_dir() + "/user-faults.toml");
        text.replace(text.find("memory = \"4M\""), 13, "memory = \"4M\"\nvcpus = 3");
        text.replace(text.find("rbx = 0,"), 8, "rbx = " + std::to_string(action) + ",");
        text.replace(text.find("\nmode = \"user\""), 14, "\nmode = \"user\"\nindex_register = \"r15\"");
        const std::string report = (dir.path / "report.json").string();
        const ProcessResult r = run_vmm({"--config", dir.write("m.toml", text), "--report", report});
        show(r);
        const nlohmann::json j = nlohmann::json::parse(read_file(report));
        REQUIRE(j["vcpus"].size() == 3);
        for (const nlohmann::json &vcpu : j["vcpus"]) {
            INFO("vcpu " << vcpu["index"]);
            if (action == 0) {
                CHECK(vcpu["end"] == "halted");
                CHECK(vcpu["registers"]["rip"] == 0x1106);
            } else if (vcpu["end"] == "fatal") { // a vCPU may be stopped by another's fault first
                CHECK(vcpu["exception"]["rip"] == 0x150a);
                CHECK(vcpu["exception"]["cr2"] == 0x8000000000ull);
            }
        }
        CHECK(r.exit_status == (action == 0 ? 0 : 1));
    }
}
