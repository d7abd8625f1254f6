// ABI 1.6: a setting's declared default, range and choices. The loader reads
// them and refuses a plugin whose declarations contradict themselves; the
// settings check refuses machine-file values outside them; the SDK's parser
// reads defaults the way the host checked them.
#include "plugin/plugin_library.hpp"
#include "plugin/settings_check.hpp"

#include "support/input_error_text.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <vmm/sdk/setting_text.hpp>

#include <filesystem>

using namespace vmm;
using vmm::test::input_error_text;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const std::string &name)
{
    return fs::path(vmm::test::paths::fixture_dir()) / ("vmm-" + name + ".so");
}

std::string load_error(const std::string &name)
{
    return input_error_text([&] { PluginLibrary::load(fixture(name)); });
}

std::string malformed(const std::string &name, const std::string &what)
{
    return fixture(name).string() + ": malformed plugin descriptor: plugin '" + name + "': " + what;
}

std::vector<std::string> problems(const PluginLibrary &plugin, const std::string &key, SettingValue value)
{
    std::vector<std::string> out;
    for (const InputError &e : check_settings("dev", {}, {Setting{key, std::move(value), {}}}, plugin))
        out.push_back(e.what());
    return out;
}

} // namespace

TEST_CASE("a plugin's declared defaults, ranges and choices are read as declared", "[plugin][abi][limits]")
{
    const auto plugin = PluginLibrary::load(fixture("limits"));
    const ConfigKeyInfo *size = plugin->find_key("size");
    REQUIRE(size != nullptr);
    CHECK(size->default_text == "4");
    CHECK(size->has_range);
    CHECK(size->min_value == 1);
    CHECK(size->max_value == 10);
    CHECK(size->choices.empty());
    const ConfigKeyInfo *mode = plugin->find_key("mode");
    REQUIRE(mode != nullptr);
    CHECK(mode->default_text == "fast");
    CHECK_FALSE(mode->has_range);
    CHECK(mode->choices == std::vector<std::string>{"fast", "slow"});
    // A 1.5 plugin's keys are shorter: nothing declared, nothing read.
    const auto old = PluginLibrary::load(fixture("old-minor-1.5"));
    REQUIRE(old->find_key("value") != nullptr);
    CHECK_FALSE(old->find_key("value")->default_text.has_value());
    CHECK_FALSE(old->find_key("value")->has_range);
}

TEST_CASE("a plugin whose declared limits contradict themselves is refused, the key named", "[plugin][abi][limits]")
{
    CHECK(load_error("bad-limits-default") ==
          malformed("bad-limits-default", "config key 'size': its default \"100\" is outside the range 1..10"));
    CHECK(load_error("bad-limits-range") ==
          malformed("bad-limits-range",
                    "config key 'size' declares the range 11..10, whose minimum is above its maximum"));
    CHECK(load_error("bad-limits-empty-choice") ==
          malformed("bad-limits-empty-choice", "config key 'mode': choice 1 is an empty string"));
    CHECK(load_error("bad-limits-no-choices") ==
          malformed("bad-limits-no-choices", "config key 'mode' declares an empty list of choices"));
    CHECK(load_error("bad-limits-not-a-choice") ==
          malformed("bad-limits-not-a-choice",
                    "config key 'mode': its default \"medium\" is not one of \"fast\", \"slow\""));
    CHECK(load_error("bad-limits-not-an-int") ==
          malformed("bad-limits-not-an-int", "config key 'size': its default \"four\" is not an integer"));
    CHECK(load_error("bad-limits-string-range") ==
          malformed("bad-limits-string-range",
                    "config key 'mode' declares a range, but is a string, not an integer or a float"));
    CHECK(load_error("bad-limits-unknown-bits") ==
          malformed("bad-limits-unknown-bits",
                    "config key 'ratio' has unknown limits bits 0x80 (this vmm knows VMM_KEY_HAS_RANGE)"));
}

TEST_CASE("machine-file values outside a declared range or choices are refused, naming both", "[plugin][limits]")
{
    const auto plugin = PluginLibrary::load(fixture("limits"));
    CHECK(problems(*plugin, "size", int64_t{1}).empty());
    CHECK(problems(*plugin, "size", int64_t{10}).empty());
    CHECK(problems(*plugin, "size", int64_t{11}) ==
          std::vector<std::string>{"device 'dev': setting 'size' = 11 is outside the range 1..10 declared by plugin "
                                   "'limits'"});
    CHECK(problems(*plugin, "size", int64_t{0}).size() == 1);
    CHECK(problems(*plugin, "mode", std::string("slow")).empty());
    CHECK(problems(*plugin, "mode", std::string("warp\n")) ==
          std::vector<std::string>{"device 'dev': setting 'mode' = \"warp\\n\" is not one of \"fast\", \"slow\" "
                                   "declared by plugin 'limits'"});
    CHECK(problems(*plugin, "ratio", 0.25).empty());
    CHECK(problems(*plugin, "ratio", int64_t{1}).empty()); // an integer for a float key
    CHECK(problems(*plugin, "ratio", 1.5) ==
          std::vector<std::string>{"device 'dev': setting 'ratio' = 1.5 is outside the range 0..1 declared by plugin "
                                   "'limits'"});
    CHECK(problems(*plugin, "ratio", std::nan("")).size() == 1);
    // A wrong type is said once, as before, without a range message too.
    CHECK(problems(*plugin, "size", std::string("3")) ==
          std::vector<std::string>{"device 'dev': setting 'size' must be an integer, not a string"});
}

TEST_CASE("the SDK reads a default's text as the machine file would", "[sdk][limits]")
{
    using namespace vmm::sdk;
    CHECK(parse_int_text("4096") == 4096);
    CHECK(parse_int_text("0x3f8") == 0x3f8);
    CHECK(parse_int_text("0o17") == 15);
    CHECK(parse_int_text("0b101") == 5);
    CHECK(parse_int_text("-5") == -5);
    CHECK(parse_int_text("+5") == 5);
    CHECK(parse_int_text("16_777_216") == 16777216);
    CHECK(parse_int_text("-9223372036854775808") == INT64_MIN);
    CHECK(parse_int_text("9223372036854775807") == INT64_MAX);
    CHECK_FALSE(parse_int_text("9223372036854775808"));
    CHECK_FALSE(parse_int_text("-0x10"));
    CHECK_FALSE(parse_int_text("1__0"));
    CHECK_FALSE(parse_int_text("_1"));
    CHECK_FALSE(parse_int_text("1_"));
    CHECK_FALSE(parse_int_text("0x"));
    CHECK_FALSE(parse_int_text(""));
    CHECK_FALSE(parse_int_text("12 "));
    CHECK(parse_float_text("0.5") == 0.5);
    CHECK(parse_float_text("+1e3") == 1000.0);
    CHECK(parse_float_text("7") == 7.0);
    CHECK_FALSE(parse_float_text("half"));
    CHECK(parse_bool_text("true") == true);
    CHECK(parse_bool_text("false") == false);
    CHECK_FALSE(parse_bool_text("yes"));
}
