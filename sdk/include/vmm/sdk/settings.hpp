// vmm/sdk/settings.hpp - the device's settings table from the machine file.
//
// The host has already checked every setting against the key the plugin
// declared (name and type), so a lookup only has to handle "not set".
#pragma once

#include <vmm/plugin_abi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vmm::sdk {

class Settings {
public:
    Settings() = default;
    Settings(const vmm_setting *settings, uint32_t count) : settings_(settings), count_(count) {}

    bool has(std::string_view key) const noexcept { return find(key) != nullptr; }

    std::optional<int64_t> get_int(std::string_view key) const noexcept
    {
        const vmm_setting *s = find(key, VMM_VALUE_INT);
        return s ? std::optional<int64_t>(s->int_value) : std::nullopt;
    }
    std::optional<bool> get_bool(std::string_view key) const noexcept
    {
        const vmm_setting *s = find(key, VMM_VALUE_BOOL);
        return s ? std::optional<bool>(s->int_value != 0) : std::nullopt;
    }
    std::optional<double> get_float(std::string_view key) const noexcept
    {
        const vmm_setting *s = find(key, VMM_VALUE_FLOAT);
        return s ? std::optional<double>(s->float_value) : std::nullopt;
    }
    std::optional<std::string> get_string(std::string_view key) const
    {
        const vmm_setting *s = find(key, VMM_VALUE_STRING);
        if (s == nullptr || s->string_value == nullptr)
            return std::nullopt;
        return std::string(s->string_value, s->string_length);
    }

    int64_t get_int(std::string_view key, int64_t fallback) const noexcept { return get_int(key).value_or(fallback); }
    bool get_bool(std::string_view key, bool fallback) const noexcept { return get_bool(key).value_or(fallback); }
    double get_float(std::string_view key, double fallback) const noexcept { return get_float(key).value_or(fallback); }
    std::string get_string(std::string_view key, std::string fallback) const
    {
        return get_string(key).value_or(std::move(fallback));
    }

private:
    // Walk with each element's struct_size as stride (see plugin_abi.h).
    const vmm_setting *find(std::string_view key, uint32_t type = 0) const noexcept
    {
        const char *cursor = reinterpret_cast<const char *>(settings_);
        for (uint32_t i = 0; i < count_ && cursor != nullptr; ++i) {
            const auto *s = reinterpret_cast<const vmm_setting *>(cursor);
            if (s->key != nullptr && key == s->key && (type == 0 || s->type == type))
                return s;
            if (s->struct_size == 0)
                return nullptr;
            cursor += s->struct_size;
        }
        return nullptr;
    }

    const vmm_setting *settings_ = nullptr;
    uint32_t count_ = 0;
};

} // namespace vmm::sdk
