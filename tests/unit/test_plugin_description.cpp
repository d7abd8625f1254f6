// vmm's side of an isolated plugin's description (isolation/plugin_description.hpp):
// the message comes from a process running the plugin, so every count,
// stride, string and outcome in it is checked; a lying one is refused by
// name, and an honest one gives the PluginLibrary a loaded plugin would.
#include "isolation/plugin_description.hpp"
#include "support/errors.hpp"

#include <catch2/catch.hpp>

#include <functional>

using namespace vmm;
using namespace vmm::isolation;

namespace {

const std::filesystem::path kFile = "/plugins/vmm-liar.so";

// A description as vmm-device-host writes it, from the first field after
// the outcome and version; `keys` writes the config key array.
Writer description(const std::function<void(Writer &)> &keys, uint32_t functions = 0x3,
                   const std::string &name = "liar")
{
    Writer m(msg_description);
    m.u32(describe_ok).u32(VMM_ABI_VERSION);
    m.u32(sizeof(vmm_plugin_descriptor)).u32(0);
    m.u32(1).str(name).u32(1).str("1.0").u32(0); // name, version, no description
    m.u32(functions);
    keys(m);
    m.u32(1).u32(1).u32(sizeof(vmm_region_decl)).u32(VMM_SPACE_PIO).u64(0x3f8).u64(8); // one region
    m.u32(1).u32(1).u32(sizeof(vmm_irq_decl)).u32(4).u32(0);                           // one line
    return m;
}

// ABI 1.6's fields of a key that declares none: no default, no range, no choices.
void no_limits(Writer &m) { m.u32(0).u32(0).u32(0).i64(0).i64(0).u32(0); }

void one_key(Writer &m)
{
    m.u32(1).u32(1).u32(sizeof(vmm_config_key)).u32(VMM_VALUE_STRING);
    m.u32(1).str("output").u32(1).str("where bytes go").u32(0).u32(VMM_KEY_PATH_WRITE);
    no_limits(m);
}

// A string key `mode` with a default and `choices` (ABI 1.6).
std::function<void(Writer &)> key_with_choices(const std::string &default_text, const std::vector<std::string> &choices)
{
    return [=](Writer &m) {
        m.u32(1).u32(1).u32(sizeof(vmm_config_key)).u32(VMM_VALUE_STRING);
        m.u32(1).str("mode").u32(0).u32(0).u32(0);
        m.u32(1).str(default_text).u32(0).u32(0).i64(0).i64(0);
        m.u32(1).u32(static_cast<uint32_t>(choices.size()));
        for (const std::string &choice : choices)
            m.u32(1).str(choice);
    };
}

Message as_message(const Writer &w)
{
    Message m;
    m.bytes = w.bytes();
    return m;
}

std::string refusal(const Writer &w)
{
    try {
        plugin_from_description(kFile, as_message(w));
    } catch (const InputError &e) {
        return e.what();
    } catch (const SystemError &e) {
        return std::string("SystemError: ") + e.what();
    }
    return "(accepted)";
}

} // namespace

TEST_CASE("an honest description gives the plugin as loading it would", "[isolation]")
{
    const auto plugin = plugin_from_description(kFile, as_message(description(one_key, 0x1 | 0x2 | 0x4 | 0x80)));
    CHECK(plugin->name() == "liar");
    CHECK(plugin->version() == "1.0");
    CHECK(plugin->description().empty());
    CHECK(plugin->file() == kFile);
    REQUIRE(plugin->config_keys().size() == 1);
    CHECK(plugin->config_keys()[0].name == "output");
    CHECK(plugin->config_keys()[0].path_flags == VMM_KEY_PATH_WRITE);
    REQUIRE(plugin->default_regions().size() == 1);
    CHECK(plugin->default_regions()[0].base == 0x3f8);
    CHECK(plugin->default_regions()[0].size == 8);
    REQUIRE(plugin->default_irqs().size() == 1);
    CHECK(plugin->default_irqs()[0].line == 4);
    // Which functions it has, never what they are: vmm calls none of them.
    CHECK(plugin->descriptor().read != nullptr);
    CHECK(plugin->descriptor().write == nullptr);
    CHECK(plugin->descriptor().realize != nullptr);
    CHECK(plugin->descriptor().save_state == nullptr);
    CHECK_FALSE(plugin->observes_exits());
}

TEST_CASE("a description carries a key's default and choices (ABI 1.6)", "[isolation]")
{
    const auto plugin =
        plugin_from_description(kFile, as_message(description(key_with_choices("poll", {"exit", "poll"}))));
    REQUIRE(plugin->config_keys().size() == 1);
    const ConfigKeyInfo &key = plugin->config_keys()[0];
    CHECK(key.default_text == std::optional<std::string>("poll"));
    CHECK(key.choices == std::vector<std::string>{"exit", "poll"});
    CHECK_FALSE(key.has_range);
}

TEST_CASE("a lying description is refused, naming the file and what is wrong", "[isolation]")
{
    const std::string file = kFile.string();
    SECTION("more keys than any plugin may declare")
    {
        CHECK(refusal(description([](Writer &m) { m.u32(5000).u32(1); })) ==
              file + ": malformed plugin descriptor: more than 1024 config keys");
    }
    SECTION("a count with fewer entries than it says")
    {
        Writer m(msg_description);
        m.u32(describe_ok).u32(VMM_ABI_VERSION).u32(sizeof(vmm_plugin_descriptor)).u32(0);
        m.u32(1).str("liar").u32(0).u32(0).u32(0x3);
        m.u32(3).u32(1).u32(sizeof(vmm_config_key)).u32(VMM_VALUE_INT); // 3 keys, 1 sent, then the end
        m.u32(1).str("a").u32(0).u32(0).u32(0);
        CHECK_THAT(refusal(m),
                   Catch::StartsWith(file + ": vmm-device-host sent a malformed description of the plugin (") &&
                       Catch::Contains("is cut short"));
    }
    SECTION("a count but no array")
    {
        CHECK(refusal(description([](Writer &m) { m.u32(2).u32(0); })) ==
              file + ": malformed plugin descriptor: config_key_count is set but config_keys is NULL");
    }
    SECTION("a stride the host refuses")
    {
        CHECK(refusal(description([](Writer &m) { m.u32(1).u32(1).u32(12); })) ==
              file + ": malformed plugin descriptor: config key 0: struct_size 12 must be a multiple of 8 from 32 "
                     "to 4096");
    }
    SECTION("a type no ABI defines")
    {
        CHECK(refusal(description([](Writer &m) {
                  m.u32(1).u32(1).u32(sizeof(vmm_config_key)).u32(9).u32(1).str("x").u32(0).u32(0).u32(0);
                  no_limits(m);
              })) == file + ": malformed plugin descriptor: config key 'x' has unknown type 9");
    }
    SECTION("a default its own choices refuse, and more choices than a list may hold")
    {
        CHECK_THAT(refusal(description(key_with_choices("fast", {"exit", "poll"}))),
                   Catch::StartsWith(file + ": malformed plugin descriptor: plugin 'liar': config key 'mode': its "
                                            "default \"fast\""));
        CHECK_THAT(refusal(description(key_with_choices("a", std::vector<std::string>(70, "a")))),
                   Catch::Contains("malformed description") && Catch::Contains("70 choices sent, more than 65"));
        CHECK_THAT(refusal(description(key_with_choices("a", std::vector<std::string>(65, "a")))),
                   Catch::Contains("declares more than 64 choices"));
    }
    SECTION("a string with a NUL inside")
    {
        CHECK_THAT(refusal(description(one_key, 0x3, std::string("li\0ar", 5))),
                   Catch::Contains("malformed description") && Catch::Contains("the name holds a NUL byte"));
    }
    SECTION("a string longer than any plugin's")
    {
        CHECK_THAT(refusal(description(one_key, 0x3, std::string(5000, 'a'))),
                   Catch::Contains("the name is cut short or longer than 4096 bytes"));
    }
    SECTION("function bits that name no function")
    {
        CHECK_THAT(refusal(description(one_key, 0x403)), Catch::Contains("function bits 0x403 name no function"));
    }
    SECTION("bytes after the descriptor")
    {
        Writer m = description(one_key);
        m.u32(7);
        CHECK_THAT(refusal(m), Catch::Contains("bytes follow the descriptor"));
    }
    SECTION("more default regions than any plugin may declare")
    {
        Writer m(msg_description);
        m.u32(describe_ok).u32(VMM_ABI_VERSION).u32(sizeof(vmm_plugin_descriptor)).u32(0);
        m.u32(1).str("liar").u32(0).u32(0).u32(0x3);
        m.u32(0).u32(0);  // no keys
        m.u32(65).u32(1); // 65 regions, none sent
        m.u32(0).u32(0);  // no lines
        CHECK(refusal(m) == file + ": malformed plugin descriptor: more than 64 default regions");
    }
    SECTION("an outcome that does not exist, or a body that does not fit it")
    {
        CHECK_THAT(refusal(Writer(msg_description).u32(99)), Catch::Contains("unknown outcome 99"));
        CHECK_THAT(refusal(Writer(msg_description).u32(describe_no_version).u32(1)),
                   Catch::Contains("outcome 2 with a body of the wrong size"));
        CHECK_THAT(refusal(Writer(msg_log).u32(0)), Catch::Contains("message type 21 is not a description"));
    }
    SECTION("an ABI it calls incompatible that is not")
    {
        CHECK_THAT(refusal(Writer(msg_description).u32(describe_incompatible).u32(VMM_ABI_MAKE_VERSION(1, 0))),
                   Catch::Contains("it calls ABI 1.0 incompatible, which it is not"));
    }
}

TEST_CASE("the outcomes of a description give the messages loading the file would", "[isolation]")
{
    const std::string file = kFile.string();
    CHECK(refusal(Writer(msg_description).u32(describe_incompatible).u32(VMM_ABI_MAKE_VERSION(2, 0))) ==
          file + ": plugin ABI 2.0 is incompatible with this vmm's ABI " + abi_version_string(VMM_ABI_VERSION) +
              " (the major versions differ); rebuild the plugin against this SDK");
    CHECK(refusal(Writer(msg_description).u32(describe_no_version)) ==
          file + " is not a vmm plugin: it does not export vmm_plugin_abi_version");
    CHECK(refusal(Writer(msg_description).u32(describe_null).u32(VMM_ABI_VERSION)) ==
          file + ": malformed plugin descriptor: vmm_plugin_describe() returned NULL");
    CHECK(refusal(Writer(msg_description).u32(describe_threw).u32(VMM_ABI_VERSION).str("boom")) ==
          file + ": vmm_plugin_describe() threw an exception across the C ABI: boom");
    CHECK_THAT(refusal(Writer(msg_description).u32(describe_no_sandbox).str("EPERM")),
               Catch::StartsWith("SystemError: " + file + ": vmm-device-host could not enter its sandbox"));
}
