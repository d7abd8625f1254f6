// The loader's ABI checks: every way a file can fail to be a plugin is
// refused with a message naming the file (and both versions, where relevant).
#include "plugin/plugin_finder.hpp"
#include "plugin/plugin_library.hpp"

#include "support/input_error_text.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

#include <malloc.h>

using namespace vmm;
using vmm::test::input_error_text;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const std::string &name) { return fs::path(vmm::test::paths::fixture_dir()) / ("vmm-" + name + ".so"); }

// "1.<current minor>", as messages print this host's version.
std::string host_abi() { return abi_version_string(VMM_ABI_VERSION); }

std::string load_error(const std::string &name)
{
    return input_error_text([&] { PluginLibrary::load(fixture(name)); });
}

} // namespace

TEST_CASE("a bundled plugin loads and describes itself", "[plugin]")
{
    auto plugin = PluginLibrary::load(fs::path(vmm::test::paths::plugin_dir()) / "vmm-serial.so");
    CHECK(plugin->name() == "serial");
    CHECK(plugin->abi_version() == VMM_ABI_VERSION);
    CHECK_FALSE(plugin->version().empty());
    CHECK_FALSE(plugin->description().empty());
    REQUIRE(plugin->find_key("input") != nullptr);
    CHECK(plugin->find_key("input")->type == VMM_VALUE_STRING);
    REQUIRE(plugin->default_regions().size() == 1);
    CHECK(plugin->default_regions()[0].space == Space::pio);
    CHECK(plugin->default_regions()[0].base == 0x3f8);
    CHECK(plugin->default_regions()[0].size == 8);
    CHECK_FALSE(plugin->thread_safe());
}

TEST_CASE("a plugin with another ABI major is refused by its version alone", "[plugin][abi]")
{
    CHECK(load_error("wrong-major") ==
          fixture("wrong-major").string() +
              ": plugin ABI 2.0 is incompatible with this vmm's ABI " + host_abi() +
              " (the major versions differ); rebuild the plugin against this SDK");
}

TEST_CASE("a plugin built for a newer minor is refused", "[plugin][abi]")
{
    CHECK(load_error("newer-minor") == fixture("newer-minor").string() +
                                           ": plugin ABI 1.99 is newer than this vmm's ABI " + host_abi() +
                                           "; upgrade vmm or build the plugin against SDK " + host_abi());
}

TEST_CASE("a plugin missing its descriptor entry point is refused", "[plugin][abi]")
{
    CHECK(load_error("no-describe") == fixture("no-describe").string() + ": plugin ABI " + host_abi() + " but no entry point vmm_plugin_describe");
}

TEST_CASE("a shared object that is not a plugin is refused", "[plugin][abi]")
{
    CHECK(load_error("not-a-plugin") ==
          fixture("not-a-plugin").string() + " is not a vmm plugin: it does not export vmm_plugin_abi_version");
}

TEST_CASE("a file that is not a shared object is refused", "[plugin][abi]")
{
    const std::string text = load_error("text-file");
    CHECK_THAT(text, Catch::StartsWith(fixture("text-file").string() + " is not a loadable shared object: "));
    CHECK_THAT(text, Catch::Contains("invalid ELF header"));
}

TEST_CASE("a missing plugin file is refused", "[plugin][abi]")
{
    CHECK(load_error("does-not-exist") == "plugin file " + fixture("does-not-exist").string() + " does not exist");
}

TEST_CASE("malformed descriptors are refused", "[plugin][abi]")
{
    CHECK(load_error("null-descriptor") ==
          fixture("null-descriptor").string() + ": malformed plugin descriptor: vmm_plugin_describe() returned NULL");
    CHECK(load_error("short-descriptor") ==
          fixture("short-descriptor").string() + ": malformed plugin descriptor: struct_size 16 is smaller than 88");
    // The SDK's entry point when the plugin's plugin_info() throws.
    CHECK(load_error("info-throws") ==
          fixture("info-throws").string() + ": malformed plugin descriptor: vmm_plugin_describe() returned NULL");
    CHECK(load_error("missing-create") ==
          fixture("missing-create").string() + ": malformed plugin descriptor: create and destroy are required");
    CHECK(load_error("bad-stride") == fixture("bad-stride").string() +
                                          ": malformed plugin descriptor: config key 0: struct_size 65536 must be a "
                                          "multiple of 8 from 32 to 4096");
    CHECK(load_error("bad-region-stride") == fixture("bad-region-stride").string() +
                                                 ": malformed plugin descriptor: default region 0: struct_size 28 must "
                                                 "be a multiple of 8 from 24 to 4096");
    CHECK(load_error("bad-utf8") == fixture("bad-utf8").string() +
                                        ": malformed plugin descriptor: description is not valid UTF-8 (byte 0xe9 at "
                                        "offset 5)");
}

TEST_CASE("a descriptor entry point that throws across the C ABI is refused, naming the file", "[plugin][abi]")
{
    CHECK(load_error("throws-in-describe") ==
          fixture("throws-in-describe").string() +
              ": vmm_plugin_describe() threw an exception across the C ABI: an exception that is not a std::exception");
}

TEST_CASE("plugins are found by name on the search path, in order", "[plugin]")
{
    PluginFinder finder({"/nonexistent-dir", vmm::test::paths::fixture_dir(), vmm::test::paths::plugin_dir()});
    auto probe = finder.load("probe", "/");
    CHECK(probe->name() == "probe");
    CHECK(probe->file() == fixture("probe"));
    // Loaded once: the same library object comes back.
    CHECK(finder.load("probe", "/") == probe);
    CHECK(finder.load("serial", "/")->name() == "serial");

    const std::string missing = input_error_text([&] { finder.load("no-such-plugin", "/"); });
    CHECK(missing == "plugin 'no-such-plugin' not found: no vmm-no-such-plugin.so in the plugin path (/nonexistent-dir, " +
                         vmm::test::paths::fixture_dir() + ", " + vmm::test::paths::plugin_dir() + ")");

    // A path is loaded as given, relative to the machine file's directory.
    auto by_path = finder.load("./vmm-probe.so", vmm::test::paths::fixture_dir());
    CHECK(by_path == probe);
}

TEST_CASE("a file whose plugin name differs from the name asked for is refused", "[plugin]")
{
    const fs::path dir = fs::temp_directory_path() / ("vmm-rename-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::copy_file(fixture("probe"), dir / "vmm-impostor.so", fs::copy_options::overwrite_existing);
    PluginFinder finder({dir});
    const std::string text = input_error_text([&] { finder.load("impostor", "/"); });
    fs::remove_all(dir);
    CHECK(text == (dir / "vmm-impostor.so").string() + " declares the plugin name 'probe', not 'impostor'");
}

TEST_CASE("a file loaded by path is still refused by a name it does not declare", "[plugin]")
{
    const fs::path dir = fs::temp_directory_path() / ("vmm-rename-cached-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::copy_file(fixture("probe"), dir / "vmm-impostor.so", fs::copy_options::overwrite_existing);
    PluginFinder finder({dir});
    // By path there is no name to check; the file is now loaded (and cached).
    auto by_path = finder.load("./vmm-impostor.so", dir);
    CHECK(by_path->name() == "probe");
    const std::string text = input_error_text([&] { finder.load("impostor", "/"); });
    fs::remove_all(dir);
    CHECK(text == (dir / "vmm-impostor.so").string() + " declares the plugin name 'probe', not 'impostor'");
}

TEST_CASE("plugins built against earlier minor versions still load", "[plugin][abi]")
{
    for (uint32_t minor = 0; minor < VMM_ABI_MINOR; ++minor) {
        const std::string name = "old-minor-1." + std::to_string(minor);
        INFO(name);
        auto plugin = PluginLibrary::load(fixture(name));
        CHECK(plugin->abi_version() == VMM_ABI_MAKE_VERSION(1, minor));
        CHECK(plugin->name() == name);
        CHECK(plugin->find_key("value") != nullptr);
        CHECK_FALSE(plugin->observes_exits()); // fields it never had read as NULL
    }
}

TEST_CASE("a plugin's declared interrupt lines are read in its order", "[plugin][irq]")
{
    const auto lines = [](const std::string &name) {
        std::vector<std::pair<uint32_t, uint32_t>> out;
        const auto plugin = PluginLibrary::load(fixture(name)); // kept alive while its lines are read
        for (const IrqDecl &irq : plugin->default_irqs())
            out.emplace_back(irq.line, irq.flags);
        return out;
    };
    using Lines = std::vector<std::pair<uint32_t, uint32_t>>;
    CHECK(lines("irq-edge") == Lines{{5, VMM_IRQ_EDGE}});
    CHECK(lines("irq-shared") == Lines{{9, VMM_IRQ_LEVEL | VMM_IRQ_SHARED}});
    CHECK(lines("irq-no-default") == Lines{{VMM_IRQ_NO_DEFAULT, VMM_IRQ_EDGE}});
    CHECK(lines("irq-pair") == Lines{{3, VMM_IRQ_EDGE}, {10, VMM_IRQ_LEVEL}});
    CHECK(lines("probe").empty());
}

TEST_CASE("plugins before ABI 1.4 declare no interrupt line, whatever their descriptor holds", "[plugin][irq][abi]")
{
    for (uint32_t minor = 0; minor < 4; ++minor) {
        INFO("old-minor-1." << minor);
        CHECK(PluginLibrary::load(fixture("old-minor-1." + std::to_string(minor)))->default_irqs().empty());
    }
    // A 1.3 plugin whose descriptor happens to be 1.4's size, with a line
    // where 1.4 has default_irqs: 1.3 has no such field, so it is not read.
    auto plugin = PluginLibrary::load(fixture("irqs-at-1.3"));
    CHECK(plugin->abi_version() == VMM_ABI_MAKE_VERSION(1, 3));
    CHECK(plugin->default_irqs().empty());
}

TEST_CASE("malformed interrupt line declarations are refused, naming the plugin and its file", "[plugin][irq][abi]")
{
    CHECK(load_error("bad-irq-stride") == fixture("bad-irq-stride").string() +
                                              ": malformed plugin descriptor: default irq 0: struct_size 20 must be a "
                                              "multiple of 8 from 16 to 4096");
    CHECK(load_error("bad-irq-flags") == fixture("bad-irq-flags").string() +
                                             ": malformed plugin descriptor: plugin 'bad-irq-flags': default irq 1 "
                                             "has unknown flag bits 0x4");
    CHECK(load_error("shared-edge-irq") == fixture("shared-edge-irq").string() +
                                               ": malformed plugin descriptor: plugin 'shared-edge-irq': default irq "
                                               "0 is VMM_IRQ_SHARED but not VMM_IRQ_LEVEL (only level-triggered lines "
                                               "can be shared)");
    // Descriptor flags: bits no minor defines are refused, not ignored.
    CHECK(load_error("bad-flags") == fixture("bad-flags").string() +
                                         ": malformed plugin descriptor: plugin 'bad-flags': flags has unknown bits "
                                         "0x100 (this vmm knows VMM_PLUGIN_THREAD_SAFE and "
                                         "VMM_PLUGIN_NEEDS_VCPU_STATE, 0x3)");
}

TEST_CASE("a plugin loaded and unloaded again and again does not grow the heap", "[plugin][swap]")
{
    // Bundled plugins carry their own C++ runtime (VMM_STATIC_CXX_RUNTIME),
    // whose start-up mallocs an exception pool of ~72 KiB: each unload must
    // free it, or a machine swapping between two plugins grows without end.
    const fs::path file = fs::path(vmm::test::paths::plugin_dir()) / "vmm-serial.so";
    PluginLibrary::load(file); // a first load may leave the loader's own caches behind
    const std::size_t before = ::mallinfo2().uordblks;
    constexpr int kLoads = 100;
    for (int i = 0; i < kLoads; ++i)
        CHECK(PluginLibrary::load(file)->name() == "serial");
    const std::size_t after = ::mallinfo2().uordblks;
    INFO("heap in use before " << before << " bytes, after " << kLoads << " loads " << after);
    CHECK(after < before + 256 * 1024); // a leaked pool per load would be ~7 MiB
}
