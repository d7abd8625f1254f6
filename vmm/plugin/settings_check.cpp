#include "plugin/settings_check.hpp"

#include <fmt/format.h>

namespace vmm {

std::vector<InputError> check_settings(const std::string &device, const SourceLocation &where,
                                       const std::vector<Setting> &settings, const PluginLibrary &plugin)
{
    std::vector<InputError> errors;
    for (const Setting &setting : settings) {
        const ConfigKeyInfo *key = plugin.find_key(setting.key);
        if (key == nullptr) {
            std::string accepted;
            for (const ConfigKeyInfo &k : plugin.config_keys())
                accepted += (accepted.empty() ? "" : ", ") + k.name;
            errors.emplace_back(setting.where, fmt::format("device '{}': plugin '{}' has no setting '{}' (it accepts: {})",
                                                           device, plugin.name(), setting.key,
                                                           accepted.empty() ? "no settings" : accepted));
            continue;
        }
        const char *given = setting_type_name(setting.value);
        const bool int_as_float = key->type == VMM_VALUE_FLOAT && std::holds_alternative<int64_t>(setting.value);
        const auto article = [](const char *word) { return std::string(word[0] == 'i' ? "an " : "a ") + word; };
        if (std::string(given) != value_type_name(key->type) && !int_as_float)
            errors.emplace_back(setting.where, fmt::format("device '{}': setting '{}' must be {}, not {}", device,
                                                           setting.key, article(value_type_name(key->type)),
                                                           article(given)));
    }
    for (const ConfigKeyInfo &key : plugin.config_keys()) {
        if (!key.required)
            continue;
        bool present = false;
        for (const Setting &setting : settings)
            present = present || setting.key == key.name;
        if (!present)
            errors.emplace_back(where, fmt::format("device '{}': plugin '{}' requires setting '{}' ({}: {})", device,
                                                   plugin.name(), key.name, value_type_name(key.type), key.description));
    }
    return errors;
}

} // namespace vmm
