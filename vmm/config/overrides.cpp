#include "config/overrides.hpp"

#include "config/toml_guard.hpp"
#include "support/errors.hpp"
#include "support/utf8.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <memory>

namespace vmm {
namespace {

constexpr std::string_view kPrefix = "--set ";

std::vector<std::string> split_key(std::string_view key)
{
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = key.find('.', start);
        parts.emplace_back(key.substr(start, dot == key.npos ? key.npos : dot - start));
        if (dot == key.npos)
            return parts;
        start = dot + 1;
    }
}

// VALUE as a TOML basic string: TOML++ never sees a non-ASCII or control
// byte (see toml_guard.hpp), only escapes.
std::optional<std::string> quoted(std::string_view value)
{
    std::string text = "\"";
    for (std::size_t i = 0; i < value.size();) {
        const auto decoded = decode_utf8(value, i);
        if (!decoded)
            return std::nullopt;
        const auto [cp, length] = *decoded;
        if (cp == '"' || cp == '\\')
            text += '\\', text += static_cast<char>(cp);
        else if (cp >= 0x20 && cp < 0x7f)
            text += static_cast<char>(cp);
        else
            text += cp > 0xffff ? fmt::format("\\U{:08X}", static_cast<uint32_t>(cp))
                                : fmt::format("\\u{:04X}", static_cast<uint32_t>(cp));
        i += length;
    }
    return text + "\"";
}

bool ascii_printable(std::string_view text)
{
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// The value as a node whose source is the option: a TOML value when the text
// is one (ASCII only: TOML++ must not see anything else), else a string.
toml::table parse_value(std::string_view value, const std::string &source)
{
    if (ascii_printable(value)) {
        // The same limits as a file's (toml_guard.hpp): a key of 50,000
        // dotted parts in an inline table would overflow TOML++'s stack.
        if (auto problem = check_toml_characters("v = " + std::string(value), source))
            throw InputError(SourceLocation{source, 0, 0}, problem->message);
        try {
            toml::table parsed = toml::parse("v = " + std::string(value), source);
            if (parsed.size() == 1 && parsed.contains("v"))
                return parsed;
        } catch (const toml::parse_error &) {
        }
    }
    const auto text = quoted(value);
    if (!text)
        throw InputError(SourceLocation{source, 0, 0}, "the value is not valid UTF-8");
    return toml::parse("v = " + *text, source);
}

std::string names_of_devices(const toml::array &devices)
{
    std::string names;
    for (const toml::node &device : devices) {
        if (const toml::table *table = device.as_table()) {
            if (auto name = (*table)["name"].value<std::string>())
                names += (names.empty() ? "" : ", ") + *name;
        }
    }
    return names.empty() ? "none" : names;
}

// The table KEY's parts lead to (all but the last part), created when
// missing; throws with the reason when a part cannot be followed.
toml::table &follow(toml::table &root, const std::vector<std::string> &parts, const std::string &source,
                    const std::string &machine_file)
{
    toml::table *table = &root;
    const auto region = [&] {
        toml::source_region r;
        r.path = std::make_shared<const std::string>(source);
        return r;
    };
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        const std::string &part = parts[i];
        toml::node *node = table->get(part);
        if (node == nullptr) {
            table->insert(toml::key(part, region()), toml::table{});
            node = table->get(part);
        }
        if (toml::array *array = node->as_array()) {
            // [[device]] by name or index; [[image]], [[check]] by index.
            if (i + 2 >= parts.size())
                throw InputError(SourceLocation{source, 0, 0},
                                 fmt::format("'{}' is a list of tables: name one and a key in it, e.g. {}.0.KEY",
                                             part, part));
            const std::string &which = parts[++i];
            toml::table *chosen = nullptr;
            std::size_t index = 0;
            const auto [end, ec] = std::from_chars(which.data(), which.data() + which.size(), index);
            if (ec == std::errc() && end == which.data() + which.size()) {
                if (index < array->size())
                    chosen = array->get(index)->as_table();
                if (chosen == nullptr)
                    throw InputError(SourceLocation{source, 0, 0},
                                     fmt::format("{} has {} [[{}]] table(s): there is no {}.{}", machine_file,
                                                 array->size(), part, part, which));
            } else {
                for (toml::node &element : *array) {
                    toml::table *t = element.as_table();
                    if (t != nullptr && (*t)["name"].value<std::string>() == which)
                        chosen = t;
                }
                if (chosen == nullptr)
                    throw InputError(SourceLocation{source, 0, 0},
                                     fmt::format("{} has no [[{}]] named '{}' ({}s: {})", machine_file, part, which,
                                                 part, names_of_devices(*array)));
            }
            table = chosen;
        } else if (toml::table *next = node->as_table()) {
            table = next;
        } else {
            throw InputError(SourceLocation{source, 0, 0},
                             fmt::format("'{}' is not a table in {} (it is {} there)", part, machine_file,
                                         node->is_string() ? "a string" : "a value"));
        }
    }
    return *table;
}

} // namespace

bool is_override_source(std::string_view source_name) { return source_name.substr(0, kPrefix.size()) == kPrefix; }

void apply_overrides(toml::table &root, const std::vector<std::string> &sets, const std::string &machine_file)
{
    std::vector<InputError> errors;
    for (const std::string &set : sets) {
        // Messages name the option; a very long one by its start, so that a
        // message stays a line stderr takes whole.
        constexpr std::size_t kShown = 120;
        const std::string source = std::string(kPrefix) +
                                   (set.size() <= kShown ? set
                                                         : set.substr(0, kShown) + fmt::format("... ({} bytes)", set.size()));
        try {
            const std::size_t equals = set.find('=');
            if (equals == std::string::npos || equals == 0)
                throw InputError(SourceLocation{source, 0, 0}, "expected KEY=VALUE, e.g. machine.memory=64M");
            const std::vector<std::string> parts = split_key(std::string_view(set).substr(0, equals));
            if (std::any_of(parts.begin(), parts.end(), [](const std::string &p) { return p.empty(); }))
                throw InputError(SourceLocation{source, 0, 0}, "a key with an empty part");
            toml::table value = parse_value(std::string_view(set).substr(equals + 1), source);
            toml::table &table = follow(root, parts, source, machine_file);
            toml::source_region region;
            region.path = std::make_shared<const std::string>(source);
            if (table.contains(parts.back()))
                table.insert_or_assign(parts.back(), std::move(*value.get("v")));
            else
                table.insert(toml::key(parts.back(), std::move(region)), std::move(*value.get("v")));
        } catch (const InputError &error) {
            errors.push_back(error);
        }
    }
    if (!errors.empty())
        throw InputErrors(errors);
}

} // namespace vmm
