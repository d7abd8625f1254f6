// End to end: the guests/lib CPL 3 runtime (guests/lib/cpl3.h) in a guest
// the VMM starts in long mode: set-up at CPL 0, a copy at CPL 3, a system
// call back to CPL 0, and an exception from CPL 3 delivered to the guest's
// own CPL 0 handler.
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <regex>

using namespace vmm::test;

namespace {

std::string demo_machine() { return paths::machines_dir() + "/cpl3-demo.toml"; }

} // namespace

TEST_CASE("cpl3-demo: a 1 MiB copy at CPL 3 with a system call to CPL 0 ends through debug-exit with 0",
          "[e2e][cpl3]")
{
    const ProcessResult r = run_vmm({"--config", demo_machine()});
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(r.out == "cpl3-demo: set-up at CPL 0\n"
                   "cpl3-demo: copied at CPL 3\n"
                   "cpl3-demo: bytes 0x100000\n"
                   "cpl3-demo: failures 0x0\n");
}

TEST_CASE("cpl3-demo: UD2 at CPL 3 reaches the guest's fault handler at CPL 0 with vector 6 and the user CS",
          "[e2e][cpl3]")
{
    TempDir dir("cpl3");
    std::string text = read_file(demo_machine());
    const std::string from = "rbx = 0x100000", to = "rbx = 0xfa017";
    REQUIRE(text.find(from) != std::string::npos);
    text.replace(text.find(from), from.size(), to);
    const ProcessResult r = run_vmm({"--config", dir.write("fault.toml", text)});
    show(r);
    CHECK(r.exit_status == 0x46); // 0x40 + #UD
    CHECK_THAT(r.out, Catch::Contains("cpl3-demo: fault, vector 0x6\n"));
    CHECK_THAT(r.out, Catch::Contains("cpl3-demo: from cs 0x2b\n"));
    CHECK_THAT(r.out, !Catch::Contains("copied at CPL 3"));
    std::smatch rip;
    REQUIRE(std::regex_search(r.out, rip, std::regex("at rip 0x([0-9a-f]+)")));
    CHECK(std::stoull(rip[1].str(), nullptr, 16) > 0x1000); // inside the guest's code, not the runtime's stubs
}
