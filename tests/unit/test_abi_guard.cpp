// The ABI guard itself: a copy of the C header with a layout change but no
// version bump must not compile against the recorded layout; the real header
// must. This is what stops a forgotten bump from landing.
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <vmm/plugin_abi.h>

#define VMM_ABI_MINOR_FOR_TEST VMM_ABI_MINOR

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path &file)
{
    std::ifstream in(file);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Compiles the layout check against a header whose text is `header`.
ProcessResult compile_check(const std::string &header)
{
    const fs::path dir = fs::temp_directory_path() / ("vmm-abi-guard-" + std::to_string(::getpid()));
    fs::create_directories(dir / "vmm");
    std::ofstream(dir / "vmm" / "plugin_abi.h") << header;
    ProcessResult r = run_process({paths::c_compiler(), "-std=c11", "-fsyntax-only", "-I", dir.string(),
                                   paths::source_dir() + "/sdk/abi_layout_check.c"});
    fs::remove_all(dir);
    return r;
}

std::string header() { return read(paths::source_dir() + "/sdk/include/vmm/plugin_abi.h"); }

std::string replaced(std::string text, const std::string &from, const std::string &to)
{
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("the recorded layout matches the real header", "[abi]")
{
    const ProcessResult r = compile_check(header());
    INFO(r.err);
    CHECK(r.exit_status == 0);
}

TEST_CASE("a field added in the middle of a struct fails the build", "[abi]")
{
    const ProcessResult r = compile_check(replaced(header(), "    uint32_t space; /* VMM_SPACE_* */\n    uint64_t size;\n} vmm_region;",
                                                   "    uint32_t space; /* VMM_SPACE_* */\n    uint64_t flags;\n    uint64_t size;\n} vmm_region;"));
    CHECK(r.exit_status != 0);
    CHECK_THAT(r.err, Catch::Contains("vmm_region.size moved: this breaks built plugins (bump VMM_ABI_MAJOR)"));
}

TEST_CASE("a struct grown at its end without a minor bump fails the build", "[abi]")
{
    const ProcessResult r = compile_check(replaced(header(), "    uint64_t size;\n} vmm_region;",
                                                   "    uint64_t size;\n    uint64_t added_later;\n} vmm_region;"));
    CHECK(r.exit_status != 0);
    CHECK_THAT(r.err, Catch::Contains("vmm_region changed size without a recorded ABI version"));
}

TEST_CASE("a minor bump without a recorded layout fails the build", "[abi]")
{
    const std::string minor = "#define VMM_ABI_MINOR " + std::to_string(VMM_ABI_MINOR_FOR_TEST) + "u";
    const ProcessResult r = compile_check(replaced(header(), minor, "#define VMM_ABI_MINOR 99u"));
    CHECK(r.exit_status != 0);
    CHECK_THAT(r.err, Catch::Contains("no recorded sizes for this ABI minor"));
}

TEST_CASE("fields that swap places, change type or signature, and constants that change value fail the build", "[abi]")
{
    SECTION("two registers swapped: same size, same offsets of the rest")
    {
        const ProcessResult r = compile_check(replaced(header(), "rdx, rsi, rdi, rsp", "rdx, rdi, rsi, rsp"));
        CHECK(r.exit_status != 0);
        CHECK_THAT(r.err, Catch::Contains("vmm_vcpu_registers.rsi moved"));
    }
    SECTION("a double that becomes an integer of the same size")
    {
        const ProcessResult r = compile_check(replaced(header(), "    double float_value;", "    int64_t float_value;"));
        CHECK(r.exit_status != 0);
        CHECK_THAT(r.err, Catch::Contains("vmm_setting.float_value is no longer double"));
    }
    SECTION("unsigned that becomes signed")
    {
        const ProcessResult r = compile_check(replaced(header(), "    uint16_t cs_selector;", "    int16_t cs_selector;"));
        CHECK(r.exit_status != 0);
        CHECK_THAT(r.err, Catch::Contains("vmm_exit_event.cs_selector is no longer uint16_t"));
    }
    SECTION("a callback parameter that widens")
    {
        const ProcessResult r = compile_check(
            replaced(header(), "uint64_t offset, const void *data, uint32_t size);", "uint64_t offset, const void *data, uint64_t size);"));
        CHECK(r.exit_status != 0);
        CHECK_THAT(r.err, Catch::Contains("vmm_plugin_descriptor.write is no longer write_fn"));
    }
    SECTION("a constant with a new value")
    {
        const ProcessResult r = compile_check(replaced(header(), "#define VMM_SPACE_MMIO 2u", "#define VMM_SPACE_MMIO 4u"));
        CHECK(r.exit_status != 0);
        CHECK_THAT(r.err, Catch::Contains("VMM_SPACE_MMIO changed value"));
    }
}
