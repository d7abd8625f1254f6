// vmm/sdk/host.hpp - the host's services, seen from a plugin.
#pragma once

#include <vmm/plugin_abi.h>

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace vmm::sdk {

enum class LogLevel : uint32_t {
    trace = VMM_LOG_TRACE,
    debug = VMM_LOG_DEBUG,
    info = VMM_LOG_INFO,
    warn = VMM_LOG_WARN,
    error = VMM_LOG_ERROR,
    critical = VMM_LOG_CRITICAL,
};

// Thin, copyable handle on the host function table for one device instance.
// Formatting happens here, inside the plugin; only finished text crosses.
class Host {
public:
    Host() = default;
    Host(const vmm_host_api *api, vmm_host_context *context) : api_(api), context_(context) {}

    // True when the host's table is long enough to contain `member`: a newer
    // plugin asks before using a service added in a later minor version.
    template <typename Member>
    bool provides(Member vmm_host_api::*member) const noexcept
    {
        if (api_ == nullptr)
            return false;
        const vmm_host_api probe{};
        const auto offset = static_cast<std::size_t>(reinterpret_cast<const char *>(&(probe.*member)) -
                                                     reinterpret_cast<const char *>(&probe));
        return api_->struct_size >= offset + sizeof(Member) && api_->*member != nullptr;
    }

    void log(LogLevel level, std::string_view message) const noexcept
    {
        if (!provides(&vmm_host_api::log))
            return;
        try {
            const std::string text(message);
            api_->log(context_, static_cast<uint32_t>(level), text.c_str());
        } catch (...) {
            // Out of memory while logging: nothing sensible left to report.
        }
    }

    __attribute__((format(printf, 3, 4))) void logf(LogLevel level, const char *format, ...) const noexcept
    {
        va_list args;
        va_start(args, format);
        log(level, vformat(format, args));
        va_end(args);
    }

#define VMM_SDK_LOG_HELPER(name)                                                          \
    __attribute__((format(printf, 2, 3))) void name(const char *format, ...) const noexcept \
    {                                                                                     \
        va_list args;                                                                     \
        va_start(args, format);                                                           \
        log(LogLevel::name, vformat(format, args));                                       \
        va_end(args);                                                                     \
    }
    VMM_SDK_LOG_HELPER(trace)
    VMM_SDK_LOG_HELPER(debug)
    VMM_SDK_LOG_HELPER(info)
    VMM_SDK_LOG_HELPER(warn)
    VMM_SDK_LOG_HELPER(error)
#undef VMM_SDK_LOG_HELPER

    // Guest-physical memory, bounds-checked by the host. False: out of range.
    bool read_guest(uint64_t gpa, void *buffer, uint64_t size) const noexcept
    {
        return provides(&vmm_host_api::guest_read) && api_->guest_read(context_, gpa, buffer, size) == VMM_OK;
    }
    bool write_guest(uint64_t gpa, const void *buffer, uint64_t size) const noexcept
    {
        return provides(&vmm_host_api::guest_write) && api_->guest_write(context_, gpa, buffer, size) == VMM_OK;
    }
    // Direct pointer into guest RAM, or nullptr. The guest may rewrite it at
    // any time: copy a value out once, then validate the copy.
    void *map_guest(uint64_t gpa, uint64_t size) const noexcept
    {
        return provides(&vmm_host_api::guest_map) ? api_->guest_map(context_, gpa, size) : nullptr;
    }

    void request_stop(int32_t exit_status) const noexcept
    {
        if (provides(&vmm_host_api::request_stop))
            api_->request_stop(context_, exit_status);
    }

    // ABI 1.1: the guest-physical base of one of the device's regions, for
    // protocols that publish it to the guest. Nothing from an older host.
    std::optional<uint64_t> region_address(uint32_t region) const noexcept
    {
        uint64_t address = 0;
        if (provides(&vmm_host_api::region_address) && api_->region_address(context_, region, &address) == VMM_OK)
            return address;
        return std::nullopt;
    }

    // ---- ABI 1.2: vCPUs ----

    // 0 from a host older than 1.2.
    uint32_t vcpu_count() const noexcept { return provides(&vmm_host_api::vcpu_count) ? api_->vcpu_count(context_) : 0; }
    // The vCPU whose exit is being handled, or nothing (another thread).
    std::optional<uint32_t> current_vcpu() const noexcept
    {
        if (!provides(&vmm_host_api::current_vcpu))
            return std::nullopt;
        const int32_t vcpu = api_->current_vcpu(context_);
        return vcpu < 0 ? std::nullopt : std::optional<uint32_t>(static_cast<uint32_t>(vcpu));
    }
    std::optional<vmm_vcpu_info> vcpu_info(uint32_t vcpu) const noexcept
    {
        vmm_vcpu_info info{};
        info.struct_size = sizeof info;
        if (provides(&vmm_host_api::vcpu_info) && api_->vcpu_info(context_, vcpu, &info) == VMM_OK)
            return info;
        return std::nullopt;
    }
    std::optional<vmm_vcpu_registers> vcpu_registers(uint32_t vcpu) const noexcept
    {
        vmm_vcpu_registers registers{};
        registers.struct_size = sizeof registers;
        if (provides(&vmm_host_api::get_vcpu_registers) &&
            api_->get_vcpu_registers(context_, vcpu, &registers) == VMM_OK)
            return registers;
        return std::nullopt;
    }
    // Only the calling vCPU's; they take effect when it re-enters the guest.
    bool set_vcpu_registers(uint32_t vcpu, const vmm_vcpu_registers &registers) const noexcept
    {
        vmm_vcpu_registers copy = registers;
        copy.struct_size = sizeof copy;
        return provides(&vmm_host_api::set_vcpu_registers) &&
               api_->set_vcpu_registers(context_, vcpu, &copy) == VMM_OK;
    }

    // ---- ABI 1.5: machine facts ----

    // What firmware is told about the machine (see vmm_machine_info);
    // nothing from an older host.
    std::optional<vmm_machine_info> machine_info() const noexcept
    {
        vmm_machine_info info{};
        info.struct_size = sizeof info;
        if (provides(&vmm_host_api::machine_info) && api_->machine_info(context_, &info) == VMM_OK)
            return info;
        return std::nullopt;
    }
    // The size of the machine's blob `name` ("kernel", "initrd", "cmdline",
    // "machine_file"); nothing when the machine has none or the host is older.
    std::optional<uint64_t> machine_blob_size(const char *name) const noexcept
    {
        uint64_t size = 0;
        if (provides(&vmm_host_api::machine_blob) &&
            api_->machine_blob(context_, name, 0, nullptr, 0, &size) == VMM_OK)
            return size;
        return std::nullopt;
    }
    // Copies `length` bytes of blob `name` from `offset`. False: no such blob,
    // or the range passes its end.
    bool read_machine_blob(const char *name, uint64_t offset, void *buffer, uint64_t length) const noexcept
    {
        return provides(&vmm_host_api::machine_blob) &&
               api_->machine_blob(context_, name, offset, buffer, length, nullptr) == VMM_OK;
    }
    // A whole (small) blob as text, e.g. the command line or the machine
    // file's path; empty when there is none.
    std::string machine_blob_text(const char *name) const
    {
        const std::optional<uint64_t> size = machine_blob_size(name);
        if (!size || *size == 0 || *size > (1u << 20))
            return {};
        std::string text(static_cast<std::size_t>(*size), '\0');
        if (!read_machine_blob(name, 0, text.data(), text.size()))
            return {};
        return text;
    }

    const vmm_host_api *api() const noexcept { return api_; }
    vmm_host_context *context() const noexcept { return context_; }

private:
    static std::string vformat(const char *format, va_list args) noexcept
    {
        try {
            va_list copy;
            va_copy(copy, args);
            const int length = std::vsnprintf(nullptr, 0, format, copy);
            va_end(copy);
            if (length <= 0)
                return {};
            std::string text(static_cast<std::size_t>(length) + 1, '\0');
            std::vsnprintf(text.data(), text.size(), format, args);
            text.resize(static_cast<std::size_t>(length));
            return text;
        } catch (...) {
            return {};
        }
    }

    const vmm_host_api *api_ = nullptr;
    vmm_host_context *context_ = nullptr;
};

} // namespace vmm::sdk
