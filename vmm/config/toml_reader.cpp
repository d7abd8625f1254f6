#include "config/toml_reader.hpp"

#include "config/overrides.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <limits>

namespace vmm {

namespace {

thread_local const std::map<std::string, ColumnMap> *t_columns = nullptr;

SourceLocation location_of(const toml::source_region &source)
{
    SourceLocation where;
    if (source.path)
        where.file = *source.path;
    if (is_override_source(where.file))
        return where; // the option names it; no line or column
    where.line = source.begin.line;
    where.column = source.begin.column;
    if (t_columns != nullptr) {
        if (auto it = t_columns->find(where.file); it != t_columns->end())
            where.column = it->second.original(where.line, where.column);
    }
    return where;
}

} // namespace

ColumnMapScope::ColumnMapScope(const std::map<std::string, ColumnMap> &maps) { t_columns = &maps; }

ColumnMapScope::~ColumnMapScope() { t_columns = nullptr; }

SourceLocation location_of(const toml::node &node) { return location_of(node.source()); }
SourceLocation location_of(const toml::key &key) { return location_of(key.source()); }

void Diagnostics::throw_if_any() const
{
    if (!errors_.empty())
        throw InputErrors(errors_);
}

const char *toml_type_name(const toml::node &node)
{
    switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
    }
}

std::optional<uint64_t> parse_byte_size(std::string_view text)
{
    uint64_t number = 0;
    const char *begin = text.data();
    const char *end = text.data() + text.size();
    const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    auto [rest, ec] = std::from_chars(begin + (hex ? 2 : 0), end, number, hex ? 16 : 10);
    if (ec != std::errc() || rest == begin + (hex ? 2 : 0))
        return std::nullopt;
    std::string unit(rest, end);
    for (char &c : unit)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    uint64_t scale = 1;
    if (unit.empty() || unit == "B")
        scale = 1;
    else if (unit == "K" || unit == "KB" || unit == "KIB")
        scale = 1ull << 10;
    else if (unit == "M" || unit == "MB" || unit == "MIB")
        scale = 1ull << 20;
    else if (unit == "G" || unit == "GB" || unit == "GIB")
        scale = 1ull << 30;
    else
        return std::nullopt;
    if (number > std::numeric_limits<uint64_t>::max() / scale)
        return std::nullopt;
    return number * scale;
}

TableReader::TableReader(const toml::table &table, std::string context, Diagnostics &diagnostics)
    : table_(table), context_(std::move(context)), diagnostics_(diagnostics)
{
}

SourceLocation TableReader::where(std::string_view key) const
{
    const toml::node *node = table_.get(key);
    return node ? location_of(*node) : where();
}

void TableReader::type_error(std::string_view key, const toml::node &node, const char *expected)
{
    diagnostics_.error(location_of(node),
                       fmt::format("{}: '{}' must be {}, not {}", context_, key, expected, toml_type_name(node)));
}

const toml::node *TableReader::fetch(std::string_view key, bool required, const char *expected)
{
    known_.emplace(key);
    const toml::node *node = table_.get(key);
    if (node == nullptr && required)
        diagnostics_.error(where(), fmt::format("{}: missing required key '{}' ({})", context_, key, expected));
    return node;
}

std::optional<std::string> TableReader::string(std::string_view key, bool required)
{
    const toml::node *node = fetch(key, required, "a string");
    if (node == nullptr)
        return std::nullopt;
    if (const auto *value = node->as_string())
        return value->get();
    type_error(key, *node, "a string");
    return std::nullopt;
}

std::optional<bool> TableReader::boolean(std::string_view key)
{
    const toml::node *node = fetch(key, false, "a boolean");
    if (node == nullptr)
        return std::nullopt;
    if (const auto *value = node->as_boolean())
        return value->get();
    type_error(key, *node, "a boolean (true or false)");
    return std::nullopt;
}

std::optional<int64_t> TableReader::integer(std::string_view key, bool required)
{
    const toml::node *node = fetch(key, required, "an integer");
    if (node == nullptr)
        return std::nullopt;
    if (const auto *value = node->as_integer())
        return value->get();
    type_error(key, *node, "an integer");
    return std::nullopt;
}

std::optional<uint64_t> TableReader::unsigned_integer(std::string_view key, bool required)
{
    const auto value = integer(key, required);
    if (!value)
        return std::nullopt;
    if (*value < 0) {
        diagnostics_.error(where(key), fmt::format("{}: '{}' must not be negative (got {})", context_, key, *value));
        return std::nullopt;
    }
    return static_cast<uint64_t>(*value);
}

std::optional<uint64_t> TableReader::byte_size(std::string_view key, bool required)
{
    const toml::node *node = fetch(key, required, "a size such as 4096 or \"64K\"");
    if (node == nullptr)
        return std::nullopt;
    if (const auto *value = node->as_integer()) {
        if (value->get() < 0) {
            diagnostics_.error(location_of(*node), fmt::format("{}: '{}' must not be negative", context_, key));
            return std::nullopt;
        }
        return static_cast<uint64_t>(value->get());
    }
    if (const auto *text = node->as_string()) {
        if (auto size = parse_byte_size(text->get()))
            return size;
        diagnostics_.error(location_of(*node),
                           fmt::format("{}: '{}' = \"{}\" is not a size (write e.g. 4096, \"64K\", \"1M\" or \"1G\")",
                                       context_, key, text->get()));
        return std::nullopt;
    }
    type_error(key, *node, "a size (an integer or a string such as \"1M\")");
    return std::nullopt;
}

const toml::table *TableReader::subtable(std::string_view key)
{
    const toml::node *node = fetch(key, false, "a table");
    if (node == nullptr)
        return nullptr;
    if (const auto *table = node->as_table())
        return table;
    type_error(key, *node, "a table");
    return nullptr;
}

const toml::array *TableReader::array(std::string_view key)
{
    const toml::node *node = fetch(key, false, "an array");
    if (node == nullptr)
        return nullptr;
    if (const auto *array = node->as_array())
        return array;
    type_error(key, *node, "an array");
    return nullptr;
}

const toml::node *TableReader::node(std::string_view key) { return fetch(key, false, "a value"); }

void TableReader::reject_unknown_keys()
{
    std::string expected;
    for (const std::string &key : known_)
        expected += (expected.empty() ? "" : ", ") + key;
    for (const auto &[key, node] : table_) {
        if (known_.count(key.str()) == 0) {
            diagnostics_.error(location_of(key), fmt::format("{}: unknown key '{}' (known keys: {})", context_,
                                                              key.str(), expected.empty() ? "none" : expected));
        }
    }
}

} // namespace vmm
