#include "plugin/key_limits.hpp"

#include "support/escape.hpp"

#include <vmm/sdk/setting_text.hpp>

#include <fmt/format.h>

#include <cmath>

namespace vmm {

std::string range_text(const ConfigKeyInfo &key)
{
    return key.has_range ? fmt::format("{}..{}", key.min_value, key.max_value) : std::string();
}

std::string choices_text(const ConfigKeyInfo &key)
{
    std::string text;
    for (const std::string &choice : key.choices)
        text += (text.empty() ? "\"" : ", \"") + escaped(choice) + "\"";
    return text;
}

std::optional<std::string> int_problem(const ConfigKeyInfo &key, int64_t value)
{
    if (key.has_range && (value < key.min_value || value > key.max_value))
        return "is outside the range " + range_text(key);
    return std::nullopt;
}

std::optional<std::string> float_problem(const ConfigKeyInfo &key, double value)
{
    // NaN compares false with both bounds: it is inside no range.
    if (key.has_range && !(value >= static_cast<double>(key.min_value) && value <= static_cast<double>(key.max_value)))
        return "is outside the range " + range_text(key);
    return std::nullopt;
}

std::optional<std::string> string_problem(const ConfigKeyInfo &key, std::string_view value)
{
    if (key.choices.empty())
        return std::nullopt;
    for (const std::string &choice : key.choices) {
        if (choice == value)
            return std::nullopt;
    }
    return "is not one of " + choices_text(key);
}

std::optional<std::string> value_problem(const ConfigKeyInfo &key, std::string_view text)
{
    switch (key.type) {
    case VMM_VALUE_INT:
        if (const auto value = sdk::parse_int_text(text))
            return int_problem(key, *value);
        return "is not an integer";
    case VMM_VALUE_FLOAT:
        if (const auto value = sdk::parse_float_text(text))
            return float_problem(key, *value);
        return "is not a number";
    case VMM_VALUE_BOOL:
        if (sdk::parse_bool_text(text))
            return std::nullopt;
        return "is neither true nor false";
    default: return string_problem(key, text);
    }
}

} // namespace vmm
