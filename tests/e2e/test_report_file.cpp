// `--report FILE` holds this run's whole account or nothing: the previous
// run's file is removed at start, a report is renamed into place whole, and
// the log's last line gives the status the process really exits with.
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {

std::string counter_machine(const TempDir &dir, const std::string &extra = "")
{
    return dir.write("m.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\nregisters = { rbx = 3 }\n"
                               "[[image]]\nfile = \"counter.elf\"\n"
                               "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n" +
                                   extra);
}

} // namespace

TEST_CASE("a run that ends with bad input leaves no report, not the previous run's", "[e2e][report]")
{
    TempDir dir("report-stale");
    const std::string report = dir.write("report.json", "{\"exit_status\": 0}\n");
    const std::string machine = dir.write("bad.toml", "[machine]\nmemroy = \"1M\"\n");
    const ProcessResult r = run_vmm({"--config", machine, "--report", report});
    show(r);
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("[machine]: unknown key 'memroy'"));
    CHECK_FALSE(fs::exists(report));
}

TEST_CASE("a report is renamed into place whole: no temporary file is left beside it", "[e2e][report]")
{
    TempDir dir("report-atomic");
    const std::string report = dir.write("report.json", "stale");
    const ProcessResult r = run_vmm({"--config", counter_machine(dir), "--report", report});
    show(r);
    CHECK(r.exit_status == 0);
    const nlohmann::json j = nlohmann::json::parse(read_file(report));
    CHECK(j["exit_status"] == 0);
    std::vector<std::string> names;
    for (const auto &entry : fs::directory_iterator(dir.path))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"m.toml", "report.json"});
}

TEST_CASE("a failed check: the one 'stopped' line gives the status the process exits with", "[e2e][report]")
{
    TempDir dir("report-check");
    const std::string report = (dir.path / "report.json").string();
    const ProcessResult r = run_vmm({"--config",
                                     counter_machine(dir, "[[check]]\nregister = \"rax\"\nequals = 0xdead\n"),
                                     "--report", report});
    show(r);
    CHECK(r.exit_status == 1);
    CHECK_THAT(r.err, Catch::Contains("stopped: every vCPU halted; 1 check(s) failed (exit status 1)"));
    CHECK_THAT(r.err, !Catch::Contains("(exit status 0)"));
    // The check is printed before the verdict.
    CHECK(r.err.find("check rax of vcpu 0") < r.err.find("stopped: "));
    CHECK(nlohmann::json::parse(read_file(report))["exit_status"] == 1);
}
