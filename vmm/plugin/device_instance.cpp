#include "plugin/device_instance.hpp"

#include "kvm/guest_memory.hpp"
#include "plugin/plugin_call.hpp"
#include "support/errors.hpp"
#include "support/logging.hpp"

#include <fmt/format.h>

#include <cstring>
#include <optional>
#include <utility>

void vmm_host_context::start_capture()
{
    std::lock_guard lock(capture_mutex_);
    captured_errors_.clear();
    capturing_ = true;
}

std::string vmm_host_context::end_capture()
{
    std::lock_guard lock(capture_mutex_);
    capturing_ = false;
    return std::exchange(captured_errors_, {});
}

void vmm_host_context::capture(const char *message)
{
    if (!capturing_.load())
        return;
    std::lock_guard lock(capture_mutex_);
    if (!capturing_.load())
        return;
    if (!captured_errors_.empty())
        captured_errors_ += "; ";
    captured_errors_ += message;
}

namespace vmm {
namespace {

constexpr uint64_t kLoggedFailures = 10;

spdlog::level::level_enum to_spdlog(uint32_t level)
{
    switch (level) {
    case VMM_LOG_TRACE: return spdlog::level::trace;
    case VMM_LOG_DEBUG: return spdlog::level::debug;
    case VMM_LOG_INFO: return spdlog::level::info;
    case VMM_LOG_WARN: return spdlog::level::warn;
    case VMM_LOG_ERROR: return spdlog::level::err;
    default: return spdlog::level::critical;
    }
}

void host_log(vmm_host_context *host, uint32_t level, const char *message)
{
    if (host == nullptr || message == nullptr)
        return;
    const spdlog::level::level_enum spd_level = to_spdlog(level);
    host->logger->log(spd_level, "{}", message);
    if (spd_level >= spdlog::level::err)
        host->capture(message);
}

vmm_status host_guest_read(vmm_host_context *host, uint64_t gpa, void *buffer, uint64_t size)
{
    if (host == nullptr || (buffer == nullptr && size != 0))
        return VMM_ERROR_INVALID;
    return host->services->memory().read(gpa, buffer, size) ? VMM_OK : VMM_ERROR_RANGE;
}

vmm_status host_guest_write(vmm_host_context *host, uint64_t gpa, const void *buffer, uint64_t size)
{
    if (host == nullptr || (buffer == nullptr && size != 0))
        return VMM_ERROR_INVALID;
    return host->services->memory().write(gpa, buffer, size) ? VMM_OK : VMM_ERROR_RANGE;
}

void *host_guest_map(vmm_host_context *host, uint64_t gpa, uint64_t size)
{
    if (host == nullptr || size == 0)
        return nullptr;
    return host->services->memory().host_pointer(gpa, size, false);
}

void host_request_stop(vmm_host_context *host, int32_t exit_status)
{
    if (host != nullptr)
        host->services->request_stop(exit_status, host->instance_name);
}

vmm_status host_region_address(vmm_host_context *host, uint32_t region, uint64_t *address)
{
    if (host == nullptr || address == nullptr)
        return VMM_ERROR_INVALID;
    if (region >= host->region_bases.size())
        return VMM_ERROR_RANGE;
    *address = host->region_bases[region];
    return VMM_OK;
}

uint32_t host_vcpu_count(vmm_host_context *host) { return host ? host->services->vcpu_count() : 0; }

int32_t host_current_vcpu(vmm_host_context *host) { return host ? host->services->current_vcpu() : -1; }

vmm_status host_vcpu_info(vmm_host_context *host, uint32_t vcpu, vmm_vcpu_info *info)
{
    if (host == nullptr || info == nullptr || info->struct_size < sizeof(vmm_vcpu_info))
        return VMM_ERROR_INVALID;
    return host->services->vcpu_info(vcpu, *info);
}

vmm_status host_get_vcpu_registers(vmm_host_context *host, uint32_t vcpu, vmm_vcpu_registers *registers)
{
    if (host == nullptr || registers == nullptr || registers->struct_size < sizeof(vmm_vcpu_registers))
        return VMM_ERROR_INVALID;
    return host->services->get_vcpu_registers(vcpu, *registers);
}

vmm_status host_set_vcpu_registers(vmm_host_context *host, uint32_t vcpu, const vmm_vcpu_registers *registers)
{
    if (host == nullptr || registers == nullptr || registers->struct_size < sizeof(vmm_vcpu_registers))
        return VMM_ERROR_INVALID;
    return host->services->set_vcpu_registers(vcpu, *registers);
}

const vmm_host_api kHostApi = {
    sizeof(vmm_host_api), VMM_ABI_VERSION,    &host_log,          &host_guest_read,        &host_guest_write,
    &host_guest_map,      &host_request_stop, &host_region_address, &host_vcpu_count,       &host_current_vcpu,
    &host_vcpu_info,      &host_get_vcpu_registers, &host_set_vcpu_registers,
};

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

const vmm_host_api &host_api_table() { return kHostApi; }

DeviceInstance::DeviceInstance(std::shared_ptr<PluginLibrary> plugin, std::string name,
                               std::vector<DeviceRegion> regions, const std::vector<Setting> &settings,
                               HostServices &services)
    : plugin_(std::move(plugin)), name_(std::move(name)), regions_(std::move(regions)),
      context_(std::make_unique<vmm_host_context>()), serialize_(!plugin_->thread_safe())
{
    context_->instance_name = name_;
    context_->logger = logging::make_logger(name_);
    context_->services = &services;
    for (const DeviceRegion &r : regions_)
        context_->region_bases.push_back(r.base);

    create_arguments_ = std::make_unique<CreateArguments>(settings, regions_, *plugin_);
    vmm_device_create_info info{};
    info.struct_size = sizeof(info);
    info.instance_name = name_.c_str();
    info.host_api = &kHostApi;
    info.host = context_.get();
    info.settings = create_arguments_->entries.data();
    info.setting_count = static_cast<uint32_t>(create_arguments_->entries.size());
    info.regions = create_arguments_->regions.data();
    info.region_count = static_cast<uint32_t>(create_arguments_->regions.size());

    context_->start_capture();
    void *instance = nullptr;
    vmm_status status = VMM_ERROR_EXCEPTION;
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
    if (instance_ == nullptr)
        return;
    context_->logger->debug("destroying the instance (plugin '{}')", plugin_->name());
    destroy_instance(instance_);
}

void DeviceInstance::destroy_instance(void *instance)
{
    if (const auto thrown = call_plugin([&] { plugin_->descriptor().destroy(instance); }))
        context_->logger->error("destroy: plugin '{}' {}: {}", plugin_->name(), kThrewAcrossAbi, *thrown);
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
        thrown = call_plugin([&] { status = fn(instance_, region, offset, data, size); });
    }
    if (thrown || status != VMM_OK)
        report_failure("write", region, offset, size, status, thrown);
}

} // namespace vmm
