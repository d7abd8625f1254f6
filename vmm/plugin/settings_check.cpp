#include "plugin/settings_check.hpp"

#include "plugin/key_limits.hpp"
#include "support/escape.hpp"

#include <fmt/format.h>

namespace vmm {

namespace {

// ABI 1.6: the value as the file wrote it (quoted, escaped, for a string)
// and what is wrong with it, for a value of the key's type.
std::optional<std::pair<std::string, std::string>> limits_problem(const ConfigKeyInfo &key, const SettingValue &value)
{
    if (const auto *i = std::get_if<int64_t>(&value)) {
        auto problem = key.type == VMM_VALUE_FLOAT ? float_problem(key, static_cast<double>(*i)) : int_problem(key, *i);
        if (problem)
            return std::pair(std::to_string(*i), std::move(*problem));
    } else if (const auto *f = std::get_if<double>(&value)) {
        if (auto problem = float_problem(key, *f))
            return std::pair(fmt::format("{}", *f), std::move(*problem));
    } else if (const auto *s = std::get_if<std::string>(&value)) {
        if (auto problem = string_problem(key, *s))
            return std::pair("\"" + escaped(*s) + "\"", std::move(*problem));
    }
    return std::nullopt;
}

} // namespace

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
        if (std::string(given) != value_type_name(key->type) && !int_as_float) {
            errors.emplace_back(setting.where, fmt::format("device '{}': setting '{}' must be {}, not {}", device,
                                                           setting.key, article(value_type_name(key->type)),
                                                           article(given)));
            continue;
        }
        if (auto problem = limits_problem(*key, setting.value))
            errors.emplace_back(setting.where,
                                fmt::format("device '{}': setting '{}' = {} {} declared by plugin '{}'", device,
                                            setting.key, problem->first, problem->second, plugin.name()));
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
