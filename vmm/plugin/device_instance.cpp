#include "plugin/device_instance.hpp"

#include "kvm/guest_memory.hpp"
#include "plugin/plugin_call.hpp"
#include "plugin/plugin_crash.hpp"
#include "support/errors.hpp"
#include "support/logging.hpp"

#include <fmt/format.h>

#include <cstring>
#include <optional>
#include <utility>

namespace vmm {
namespace {

constexpr uint64_t kLoggedFailures = 10;

} // namespace

// The settings and regions arrays handed to create(), with the strings they
// point to. The ABI promises create_info's members stay valid until destroy
// returns (a plugin may keep its settings), so the instance keeps this.
struct DeviceInstance::CreateArguments {
    std::vector<std::string> keys;
    std::vector<std::string> strings;
    std::vector<vmm_setting> entries;
    std::vector<vmm_region> regions;

    CreateArguments(const std::vector<Setting> &settings, const std::vector<DeviceRegion> &device_regions,
                    const PluginLibrary &plugin)
    {
        for (const DeviceRegion &r : device_regions)
            regions.push_back(vmm_region{sizeof(vmm_region), r.space == Space::pio ? VMM_SPACE_PIO : VMM_SPACE_MMIO,
                                         r.size});
        keys.reserve(settings.size());
        strings.reserve(settings.size());
        for (const Setting &setting : settings) {
            keys.push_back(setting.key);
            vmm_setting entry{};
            entry.struct_size = sizeof(vmm_setting);
            entry.key = keys.back().c_str();
            if (const auto *b = std::get_if<bool>(&setting.value)) {
                entry.type = VMM_VALUE_BOOL;
                entry.int_value = *b ? 1 : 0;
            } else if (const auto *i = std::get_if<int64_t>(&setting.value)) {
                const ConfigKeyInfo *key = plugin.find_key(setting.key);
                if (key != nullptr && key->type == VMM_VALUE_FLOAT) {
                    // `ratio = 2` for a float setting: accepted (see
                    // check_settings), so handed over as the float it is.
                    entry.type = VMM_VALUE_FLOAT;
                    entry.float_value = static_cast<double>(*i);
                } else {
                    entry.type = VMM_VALUE_INT;
                    entry.int_value = *i;
                }
            } else if (const auto *f = std::get_if<double>(&setting.value)) {
                entry.type = VMM_VALUE_FLOAT;
                entry.float_value = *f;
            } else {
                strings.push_back(std::get<std::string>(setting.value));
                entry.type = VMM_VALUE_STRING;
                entry.string_value = strings.back().c_str();
                entry.string_length = strings.back().size();
            }
            entries.push_back(entry);
        }
    }
};

DeviceInstance::DeviceInstance(std::shared_ptr<PluginLibrary> plugin, std::string name,
                               std::vector<DeviceRegion> regions, const std::vector<Setting> &settings,
                               HostServices &services, DeviceWiring wiring)
    : plugin_(std::move(plugin)), name_(std::move(name)), regions_(std::move(regions)), wiring_(std::move(wiring)),
      context_(std::make_unique<vmm_host_context>()), serialize_(!plugin_->thread_safe())
{
    context_->instance_name = name_;
    context_->plugin_name = plugin_->name();
    context_->logger = logging::make_logger(name_);
    context_->services = &services;
    context_->isolation = wiring_.isolation;
    std::vector<RuntimeRegion> runtime_regions;
    for (const DeviceRegion &r : regions_) {
        context_->region_bases.push_back(r.base);
        runtime_regions.push_back(RuntimeRegion{r.space, r.base, r.size});
    }
    context_->runtime = std::make_unique<DeviceRuntime>(name_, plugin_->name(), context_->logger,
                                                        std::move(runtime_regions), wiring_.lines,
                                                        [this] { return lock_for_call(); },
                                                        [context = context_.get()](const std::string &text) {
                                                            context->logger->error("{}", text);
                                                            context->capture(text.c_str());
                                                        });

    create_arguments_ = std::make_unique<CreateArguments>(settings, regions_, *plugin_);
    vmm_device_create_info info{};
    info.struct_size = sizeof(info);
    info.instance_name = name_.c_str();
    info.host_api = &host_api_table();
    info.host = context_.get();
    info.settings = create_arguments_->entries.data();
    info.setting_count = static_cast<uint32_t>(create_arguments_->entries.size());
    info.regions = create_arguments_->regions.data();
    info.region_count = static_cast<uint32_t>(create_arguments_->regions.size());
    info.irq_count = static_cast<uint32_t>(wiring_.lines.size());
    info.flags = wiring_.irqchip ? VMM_CREATE_IRQCHIP : 0u;

    context_->start_capture();
    void *instance = nullptr;
    vmm_status status = VMM_ERROR_EXCEPTION;
    const PluginCallMarker marker(name_.c_str(), plugin_->name().c_str(), "create"); // names it in a crash
    const auto thrown = call_plugin([&] { status = plugin_->descriptor().create(&info, &instance); });
    const std::string logged = context_->end_capture();
    if (thrown) {
        // Whatever `instance` holds now is not an instance: leave it alone.
        throw InputError(fmt::format("device '{}' (plugin '{}', {}): create {}: {}", name_, plugin_->name(),
                                     plugin_->file().string(), kThrewAcrossAbi, *thrown));
    }
    if (status != VMM_OK || instance == nullptr) {
        std::string why = logged;
        if (why.empty())
            why = status == VMM_OK ? "create returned no instance" : fmt::format("create returned status {}", status);
        if (status == VMM_OK && instance == nullptr)
            why += " (and no instance)";
        if (instance != nullptr)
            destroy_instance(instance);
        throw InputError(fmt::format("device '{}' (plugin '{}', {}): {}", name_, plugin_->name(),
                                     plugin_->file().string(), why));
    }
    instance_ = instance;
}

DeviceInstance::~DeviceInstance()
{
    if (instance_ != nullptr) {
        context_->logger->debug("destroying the instance (plugin '{}')", plugin_->name());
        destroy_instance(instance_);
    }
    context_->runtime->release_all();
    retire_host_context(std::move(context_));
}

void DeviceInstance::destroy_instance(void *instance)
{
    context_->runtime->begin_destroy(); // from here on only log and release work
    const PluginCallMarker marker(name_.c_str(), plugin_->name().c_str(), "destroy"); // names it in a crash
    if (const auto thrown = call_plugin([&] { plugin_->descriptor().destroy(instance); }))
        context_->logger->error("destroy: plugin '{}' {}: {}", plugin_->name(), kThrewAcrossAbi, *thrown);
}

std::optional<std::string> DeviceInstance::call_lifecycle(const char *what, vmm_status (*fn)(void *))
{
    if (fn == nullptr)
        return std::nullopt;
    const auto lock = lock_for_call();
    context_->start_capture();
    vmm_status status = VMM_ERROR_EXCEPTION;
    const PluginCallMarker marker(name_.c_str(), plugin_->name().c_str(), what); // names it in a crash
    const auto thrown = call_plugin([&] { status = fn(instance_); });
    const std::string logged = context_->end_capture();
    if (thrown)
        return fmt::format("{} {}: {}", what, kThrewAcrossAbi, *thrown);
    if (status != VMM_OK)
        return logged.empty() ? fmt::format("{} failed (status {})", what, status) : logged;
    return std::nullopt;
}

void DeviceInstance::realize(const RuntimeServices &services)
{
    context_->runtime->begin_realize(services);
    if (const auto failure = call_lifecycle("realize", plugin_->descriptor().realize))
        throw InputError(fmt::format("device '{}' (plugin '{}', {}): {}", name_, plugin_->name(),
                                     plugin_->file().string(), *failure));
}

void DeviceInstance::quiesce()
{
    context_->runtime->mute();
    if (const auto failure = call_lifecycle("quiesce", plugin_->descriptor().quiesce)) {
        context_->runtime->unmute();
        throw SystemError(fmt::format("device '{}' (plugin '{}') did not come to rest: {}", name_, plugin_->name(),
                                      *failure));
    }
}

void DeviceInstance::resume()
{
    if (const auto failure = call_lifecycle("resume", plugin_->descriptor().resume))
        context_->logger->error("plugin '{}': {}", plugin_->name(), *failure);
    context_->runtime->unmute();
}

void DeviceInstance::report_failure(const char *operation, uint32_t region, uint64_t offset, uint32_t size,
                                    vmm_status status, const std::optional<std::string> &thrown)
{
    const uint64_t count = ++failed_calls_;
    if (count > kLoggedFailures)
        return;
    const char *more = count == kLoggedFailures ? "; further failures of this device are only counted" : "";
    if (thrown)
        context_->logger->error("{} of {} byte(s) at region {} offset {:#x}: plugin '{}' {}: {}{}", operation, size,
                                region, offset, plugin_->name(), kThrewAcrossAbi, *thrown, more);
    else
        context_->logger->error("{} of {} byte(s) at region {} offset {:#x} failed in plugin '{}' (status {}){}",
                                operation, size, region, offset, plugin_->name(), status, more);
}

void DeviceInstance::read(uint32_t region, uint64_t offset, uint8_t *data, uint32_t size)
{
    const auto fn = plugin_->descriptor().read;
    if (fn == nullptr) {
        std::memset(data, 0xff, size);
        return;
    }
    vmm_status status = VMM_ERROR_EXCEPTION;
    std::optional<std::string> thrown;
    {
        const auto lock = lock_for_call();
        const PluginCallMarker marker(name_.c_str(), plugin_->name().c_str(), "read"); // names it in a crash
        thrown = call_plugin([&] { status = fn(instance_, region, offset, data, size); });
    }
    if (thrown || status != VMM_OK) {
        std::memset(data, 0xff, size);
        report_failure("read", region, offset, size, status, thrown);
    }
}

std::vector<uint8_t> DeviceInstance::save_state()
{
    const auto fn = plugin_->descriptor().save_state;
    if (fn == nullptr)
        throw SystemError(fmt::format("device '{}' (plugin '{}') cannot save its state", name_, plugin_->name()));
    constexpr uint64_t kMaxState = 64ull << 20;
    std::vector<uint8_t> blob(4096);
    const auto lock = lock_for_call();
    context_->start_capture();
    for (;;) {
        uint64_t size = 0;
        vmm_status status = VMM_ERROR_EXCEPTION;
        const PluginCallMarker marker(name_.c_str(), plugin_->name().c_str(), "save_state"); // names it in a crash
        if (const auto thrown = call_plugin([&] { status = fn(instance_, blob.data(), blob.size(), &size); })) {
            context_->end_capture();
            throw SystemError(fmt::format("device '{}' (plugin '{}'): save_state {}: {}", name_, plugin_->name(),
                                          kThrewAcrossAbi, *thrown));
        }
        if (status == VMM_OK && size <= blob.size()) {
            blob.resize(size);
            break;
        }
        if (status == VMM_ERROR_RANGE && size > blob.size() && size <= kMaxState) {
            blob.resize(size);
            continue;
        }
        const std::string logged = context_->end_capture();
        throw SystemError(fmt::format("device '{}' (plugin '{}'): save_state failed (status {}{}{})", name_,
                                      plugin_->name(), status, logged.empty() ? "" : ": ", logged));
    }
    context_->end_capture();
    return blob;
}

void DeviceInstance::load_state(const std::vector<uint8_t> &blob)
{
    const auto fn = plugin_->descriptor().load_state;
    if (fn == nullptr)
        throw SystemError(fmt::format("device '{}' (plugin '{}') cannot load a state", name_, plugin_->name()));
    const auto lock = lock_for_call();
    context_->start_capture();
    vmm_status status = VMM_ERROR_EXCEPTION;
    const PluginCallMarker marker(name_.c_str(), plugin_->name().c_str(), "load_state"); // names it in a crash
    const auto thrown = call_plugin([&] { status = fn(instance_, blob.data(), blob.size()); });
    const std::string logged = context_->end_capture();
    if (thrown)
        throw SystemError(fmt::format("device '{}' (plugin '{}'): load_state {}: {}", name_, plugin_->name(),
                                      kThrewAcrossAbi, *thrown));
    if (status != VMM_OK)
        throw SystemError(fmt::format("device '{}' (plugin '{}') refused the state ({}{}{})", name_, plugin_->name(),
                                      status, logged.empty() ? "" : ": ", logged));
}

void DeviceInstance::observe_exit(const vmm_exit_event &event)
{
    const auto fn = plugin_->descriptor().observe_exit;
    if (fn == nullptr)
        return;
    std::optional<std::string> thrown;
    {
        const auto lock = lock_for_call();
        const PluginCallMarker marker(name_.c_str(), plugin_->name().c_str(), "observe_exit"); // names it in a crash
        thrown = call_plugin([&] { fn(instance_, &event); });
    }
    if (thrown) {
        const uint64_t count = ++failed_calls_;
        if (count <= kLoggedFailures)
            context_->logger->error("observe_exit: plugin '{}' {}: {}{}", plugin_->name(), kThrewAcrossAbi, *thrown,
                                    count == kLoggedFailures ? "; further failures of this device are only counted"
                                                             : "");
    }
}

void DeviceInstance::write(uint32_t region, uint64_t offset, const uint8_t *data, uint32_t size)
{
    const auto fn = plugin_->descriptor().write;
    if (fn == nullptr)
        return;
    vmm_status status = VMM_ERROR_EXCEPTION;
    std::optional<std::string> thrown;
    {
        const auto lock = lock_for_call();
        const PluginCallMarker marker(name_.c_str(), plugin_->name().c_str(), "write"); // names it in a crash
        thrown = call_plugin([&] { status = fn(instance_, region, offset, data, size); });
    }
    if (thrown || status != VMM_OK)
        report_failure("write", region, offset, size, status, thrown);
}

} // namespace vmm
