// The SDK gives a device state when its class overrides save_state and
// load_state, whatever PluginInfo::has_state says (it used to ignore the
// overrides unless the flag was set). Overriding only one does not compile:
// tests/fixtures/sdk_half_state.cpp, built by a test in tests/CMakeLists.txt.
#include <vmm/sdk.hpp>

#include <catch2/catch.hpp>

namespace {

vmm::sdk::PluginInfo info(const char *name)
{
    vmm::sdk::PluginInfo i;
    i.name = name;
    i.version = "1";
    i.description = "test";
    return i;
}

class Stateless : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info() { return info("stateless"); }
    explicit Stateless(const vmm::sdk::DeviceContext &context) : Device(context) {}
};

// No has_state: the overrides alone say it.
class Stateful : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info() { return info("stateful"); }
    explicit Stateful(const vmm::sdk::DeviceContext &context) : Device(context) {}
    std::vector<uint8_t> save_state() override { return vmm::sdk::StateWriter("stateful", 1).u8(value_).finish(); }
    void load_state(std::span<const uint8_t> blob) override
    {
        vmm::sdk::StateReader r(blob, "stateful", 1);
        value_ = r.u8();
        r.finish();
    }

private:
    uint8_t value_ = 0;
};

// An intermediate class overrides them: still state.
class Derived final : public Stateful {
public:
    static vmm::sdk::PluginInfo plugin_info() { return info("derived"); }
    using Stateful::Stateful;
};

// The flag alone: an empty state, as before.
class FlagOnly : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo i = info("flag-only");
        i.has_state = true;
        return i;
    }
    explicit FlagOnly(const vmm::sdk::DeviceContext &context) : Device(context) {}
};

} // namespace

TEST_CASE("sdk state: overriding save_state and load_state gives the device state, without has_state", "[sdk]")
{
    using vmm::sdk::detail::describe;
    const vmm_plugin_descriptor *stateless = describe<Stateless>();
    const vmm_plugin_descriptor *stateful = describe<Stateful>();
    const vmm_plugin_descriptor *derived = describe<Derived>();
    const vmm_plugin_descriptor *flag_only = describe<FlagOnly>();
    REQUIRE(stateless != nullptr);
    REQUIRE(stateful != nullptr);
    REQUIRE(derived != nullptr);
    REQUIRE(flag_only != nullptr);

    CHECK(stateless->save_state == nullptr);
    CHECK(stateless->load_state == nullptr);
    CHECK(stateful->save_state != nullptr);
    CHECK(stateful->load_state != nullptr);
    CHECK(derived->save_state != nullptr);
    CHECK(derived->load_state != nullptr);
    CHECK(flag_only->save_state != nullptr);
    CHECK(flag_only->load_state != nullptr);

    STATIC_REQUIRE(vmm::sdk::detail::overrides_save_state<Stateful>);
    STATIC_REQUIRE(vmm::sdk::detail::overrides_load_state<Derived>);
    STATIC_REQUIRE_FALSE(vmm::sdk::detail::overrides_save_state<FlagOnly>);
}
