// vmm/sdk/setting_text.hpp - a setting's value written as text (ABI 1.6's
// vmm_config_key.default_text), read as the key's type.
//
// One parser for both sides: the host checks a plugin's declared default
// with it when it loads the plugin, and Settings::get(key) applies the same
// default in the plugin, so the two can never read "0x10" differently.
// The syntax is the machine file's (TOML) for one bare value: integers in
// decimal, 0x, 0o or 0b with '_' between digits; floats; true/false; a
// string's text as is (no quotes).
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace vmm::sdk {

namespace detail {

// Digits with single '_' between them, as TOML writes them; empty if malformed.
inline std::string without_separators(std::string_view digits)
{
    std::string out;
    bool after_digit = false;
    for (const char c : digits) {
        if (c == '_') {
            if (!after_digit)
                return {};
            after_digit = false;
            continue;
        }
        out += c;
        after_digit = true;
    }
    return after_digit ? out : std::string();
}

} // namespace detail

inline std::optional<int64_t> parse_int_text(std::string_view text)
{
    bool negative = false;
    if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
        negative = text[0] == '-';
        text.remove_prefix(1);
    }
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'o' || text[1] == 'b')) {
        if (negative)
            return std::nullopt; // TOML allows no sign on prefixed integers
        base = text[1] == 'x' ? 16 : text[1] == 'o' ? 8 : 2;
        text.remove_prefix(2);
    }
    const std::string digits = detail::without_separators(text);
    if (digits.empty())
        return std::nullopt;
    // The magnitude as unsigned, so that INT64_MIN parses too.
    uint64_t magnitude = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
    if (ec != std::errc() || end != digits.data() + digits.size())
        return std::nullopt;
    if (negative) {
        if (magnitude > uint64_t{1} << 63)
            return std::nullopt;
        return magnitude == uint64_t{1} << 63 ? INT64_MIN : -static_cast<int64_t>(magnitude);
    }
    if (magnitude > static_cast<uint64_t>(INT64_MAX))
        return std::nullopt;
    return static_cast<int64_t>(magnitude);
}

inline std::optional<double> parse_float_text(std::string_view text)
{
    if (const auto whole = parse_int_text(text))
        return static_cast<double>(*whole); // a float key accepts an integer, as in machine files
    std::string_view rest = text;
    if (!rest.empty() && rest[0] == '+')
        rest.remove_prefix(1); // from_chars takes '-' but not '+'
    const std::string digits = detail::without_separators(rest);
    if (digits.empty())
        return std::nullopt;
    double value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || end != digits.data() + digits.size())
        return std::nullopt;
    return value;
}

inline std::optional<bool> parse_bool_text(std::string_view text)
{
    if (text == "true")
        return true;
    if (text == "false")
        return false;
    return std::nullopt;
}

} // namespace vmm::sdk
