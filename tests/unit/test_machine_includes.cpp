// `include`: machine files made of profiles. Merging, positions kept in the
// file that wrote them, and the ways an include can be wrong.
#include "config/machine_loader.hpp"

#include "support/input_error_text.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <string>

using namespace vmm;
using vmm::test::input_error_text;
using vmm::test::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr const char *kProfile = R"(# a profile
[machine]
irqchip = true
pit = true
strict = true

[[device]]
name = "com1"
plugin = "serial"
pio = [{ base = 0x3f8, size = 8 }]
)";

MachineSpec load(const fs::path &file) { return load_machine_file(file, {}); }

std::string errors_of(const fs::path &file)
{
    return input_error_text([&] { load(file); });
}

} // namespace

TEST_CASE("an included profile gives defaults, the including file decides", "[config][include]")
{
    TempDir dir("include");
    fs::create_directories(dir.path / "platforms");
    dir.write("platforms/pc.toml", kProfile);
    const fs::path machine = dir.write("m.toml", R"(include = ["platforms/pc.toml"]
[machine]
memory = "64K"
strict = false

[[device]]
name = "exit"
plugin = "debug-exit"
pio = [{ base = 0xf4, size = 4 }]
)");
    const MachineSpec spec = load(machine);
    CHECK(spec.memory_size == 64 * 1024);
    CHECK(spec.irqchip);
    CHECK(spec.pit);
    CHECK_FALSE(spec.strict); // the including file's own key wins
    REQUIRE(spec.devices.size() == 2);
    CHECK(spec.devices[0].name == "com1"); // the profile's devices come first
    CHECK(spec.devices[1].name == "exit");
    // Each keeps where it was written.
    CHECK(spec.devices[0].where.file == (dir.path / "platforms/pc.toml").lexically_normal().string());
    CHECK(spec.devices[0].where.line == 7);
    CHECK(spec.devices[1].where.file == machine.string());
    CHECK(spec.irqchip_where.file.find("pc.toml") != std::string::npos);
    CHECK(spec.irqchip_where.line == 3);
}

TEST_CASE("includes nest, and an included file's includes are relative to it", "[config][include]")
{
    TempDir dir("include");
    fs::create_directories(dir.path / "platforms/parts");
    dir.write("platforms/parts/uart.toml", R"([[device]]
name = "com1"
plugin = "serial"
)");
    dir.write("platforms/pc.toml", R"(include = ["parts/uart.toml"]
[machine]
irqchip = true
)");
    const fs::path machine = dir.write("m.toml", "include = [\"platforms/pc.toml\"]\n[machine]\nmemory = \"4K\"\n");
    const MachineSpec spec = load(machine);
    CHECK(spec.irqchip);
    REQUIRE(spec.devices.size() == 1);
    CHECK(spec.devices[0].name == "com1");
}

TEST_CASE("an error inside an included file keeps its position and names the includer", "[config][include]")
{
    TempDir dir("include");
    dir.write("pc.toml", "[machine]\nirqchip = \"yes\"\n");
    const fs::path machine = dir.write("m.toml", "\n[machine]\nmemory = \"4K\"\n\ninclude = 1\n");
    // `include` after a table header belongs to [machine]: refused as unknown there.
    CHECK_THAT(errors_of(machine), Catch::Contains("m.toml:5:1") && Catch::Contains("include"));

    const fs::path top = dir.write("top.toml", "include = [\"pc.toml\"]\n[machine]\nmemory = \"4K\"\n");
    const std::string text = errors_of(top);
    const std::string pc = (dir.path / "pc.toml").lexically_normal().string();
    CHECK_THAT(text, Catch::StartsWith(pc + ":2:11: "));
    CHECK_THAT(text, Catch::Contains("included from " + top.string() + ":1:12"));

    dir.write("broken.toml", "[machine\n");
    const fs::path syntax = dir.write("syntax.toml", "include = [\"broken.toml\"]\n");
    const std::string syntax_text = errors_of(syntax);
    CHECK_THAT(syntax_text, Catch::StartsWith((dir.path / "broken.toml").lexically_normal().string() + ":1:"));
    CHECK_THAT(syntax_text, Catch::Contains("included from " + syntax.string() + ":1:12"));
}

TEST_CASE("a device defined in a profile and again in the machine file is refused, naming both", "[config][include]")
{
    TempDir dir("include");
    dir.write("pc.toml", kProfile);
    const fs::path machine = dir.write("m.toml", R"(include = ["pc.toml"]
[machine]
memory = "4K"
[[device]]
name = "com1"
plugin = "serial"
)");
    const std::string text = errors_of(machine);
    CHECK_THAT(text, Catch::Contains(machine.string() + ":5:8: "));
    CHECK_THAT(text, Catch::Contains("a device named 'com1' already exists"));
    CHECK_THAT(text, Catch::Contains("pc.toml:7:1"));
}

TEST_CASE("include cycles, missing files and malformed includes are refused where written", "[config][include]")
{
    TempDir dir("include");
    dir.write("a.toml", "include = [\"b.toml\"]\n");
    dir.write("b.toml", "include = [\"a.toml\"]\n");
    const fs::path top = dir.write("top.toml", "include = [\"a.toml\"]\n[machine]\nmemory = \"4K\"\n");
    const std::string cycle = errors_of(top);
    CHECK_THAT(cycle, Catch::Contains("b.toml:1:12: include cycle: "));
    CHECK_THAT(cycle, Catch::Contains("a.toml includes") && Catch::Contains("b.toml includes"));

    const fs::path self = dir.write("self.toml", "include = [\"self.toml\"]\n");
    CHECK_THAT(errors_of(self), Catch::Contains(self.string() + ":1:12: include cycle"));

    const fs::path missing = dir.write("missing.toml", "include = [\"platforms/nowhere.toml\"]\n");
    const std::string not_found = errors_of(missing);
    CHECK_THAT(not_found, Catch::StartsWith(missing.string() + ":1:12: include \"platforms/nowhere.toml\" not found"));

    const fs::path not_array = dir.write("string.toml", "include = \"a.toml\"\n");
    CHECK_THAT(errors_of(not_array), Catch::Contains(":1:11: 'include' must be an array of file names"));

    const fs::path not_strings = dir.write("ints.toml", "include = [1]\n");
    CHECK_THAT(errors_of(not_strings), Catch::Contains(":1:12: 'include': each entry must be a non-empty file name"));

    fs::create_directories(dir.path / "adir");
    const fs::path directory = dir.write("dir.toml", "include = [\"adir\"]\n");
    CHECK_THAT(errors_of(directory), Catch::Contains(":1:12: include \"adir\" is a directory"));
}

TEST_CASE("the bundled pc profile is found by name from any machine file", "[config][include]")
{
    TempDir dir("include");
    const fs::path machine = dir.write("m.toml", "include = [\"platforms/pc.toml\"]\n[machine]\nmemory = \"1M\"\n");
    const MachineSpec spec = load(machine);
    CHECK(spec.irqchip);
    CHECK(spec.pit);
    std::set<std::string> names;
    for (const DeviceSpec &device : spec.devices)
        names.insert(device.name);
    // pc.toml is pc-isa.toml (included in turn) plus ACPI and fw_cfg.
    CHECK(names == std::set<std::string>{"com1", "rtc", "debug-exit", "pc-misc", "pm", "fw_cfg"});
    CHECK(spec.acpi);
}
