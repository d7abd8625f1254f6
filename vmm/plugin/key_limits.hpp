// A setting's value against its key's declared range and choices (ABI 1.6):
// the plugin's own default when the plugin is loaded, the machine file's
// values when a machine is planned. Each check returns what is wrong, worded
// to follow "VALUE ...", or nothing.
#pragma once

#include "plugin/plugin_library.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vmm {

// "2..65535", or "" for a key without a range.
std::string range_text(const ConfigKeyInfo &key);
// "\"exit\", \"poll\"" (escaped), or "" for a key without choices.
std::string choices_text(const ConfigKeyInfo &key);

std::optional<std::string> int_problem(const ConfigKeyInfo &key, int64_t value);
std::optional<std::string> float_problem(const ConfigKeyInfo &key, double value);
std::optional<std::string> string_problem(const ConfigKeyInfo &key, std::string_view value);

// A value written as text (a declared default): first whether it reads as
// the key's type (with the SDK's parser, the one plugins use), then the above.
std::optional<std::string> value_problem(const ConfigKeyInfo &key, std::string_view text);

} // namespace vmm
