// vmm/sdk/settings.hpp - the device's settings table from the machine file.
//
// The host has already checked every setting against the key the plugin
// declared (name and type), so a lookup only has to handle "not set".
// Keys that declare a default (ABI 1.6, with_default in plugin.hpp) are
// best read with get_int(key) etc., which fall back to that very default:
// the value `vmm plugins NAME` shows is the one the device uses.
#pragma once

#include <vmm/plugin_abi.h>
#include <vmm/sdk/setting_text.hpp>

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

    // The setting, or the key's declared default (std::nullopt when neither
    // is there, or the default does not parse: the host refuses such a
    // plugin when it loads it, so that happens only with another host).
    std::optional<int64_t> get_int(const vmm_config_key &key) const
    {
        if (const auto value = get_int(key.name))
            return value;
        return key.default_text != nullptr ? parse_int_text(key.default_text) : std::nullopt;
    }
    std::optional<bool> get_bool(const vmm_config_key &key) const
    {
        if (const auto value = get_bool(key.name))
            return value;
        return key.default_text != nullptr ? parse_bool_text(key.default_text) : std::nullopt;
    }
    std::optional<double> get_float(const vmm_config_key &key) const
    {
        if (const auto value = get_float(key.name))
            return value;
        return key.default_text != nullptr ? parse_float_text(key.default_text) : std::nullopt;
    }
    std::optional<std::string> get_string(const vmm_config_key &key) const
    {
        if (auto value = get_string(key.name))
            return value;
        return key.default_text != nullptr ? std::optional<std::string>(key.default_text) : std::nullopt;
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
