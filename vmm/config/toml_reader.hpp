// Typed, located access to a TOML table that remembers which keys were read,
// so that every key nobody asked for is reported as unknown.
#pragma once

#include "config/toml_guard.hpp"
#include "support/errors.hpp"
#include "support/source_location.hpp"

#include <toml++/toml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vmm {

// While one is alive on this thread, locations in each file of `maps` (by
// the name messages give it) have their columns mapped back to the file's
// (see toml_guard.hpp): the parse of one machine file and its includes.
class ColumnMapScope {
public:
    explicit ColumnMapScope(const std::map<std::string, ColumnMap> &maps);
    ~ColumnMapScope();
    ColumnMapScope(const ColumnMapScope &) = delete;
    ColumnMapScope &operator=(const ColumnMapScope &) = delete;
};

// A node's or key's place: file:line:col, or "--set KEY=VALUE" for a value
// given on the command line (overrides.hpp).
SourceLocation location_of(const toml::node &node);
SourceLocation location_of(const toml::key &key);

// Errors are collected, not thrown, so one run reports them all.
class Diagnostics {
public:
    void error(const SourceLocation &where, const std::string &message) { errors_.emplace_back(where, message); }
    bool empty() const { return errors_.empty(); }
    // Throws InputErrors when anything was reported.
    void throw_if_any() const;

private:
    std::vector<InputError> errors_;
};

class TableReader {
public:
    // `context` names the table in messages: "[machine]", "device 'com1'".
    TableReader(const toml::table &table, std::string context, Diagnostics &diagnostics);

    const toml::table &table() const { return table_; }
    const std::string &context() const { return context_; }
    // Once a table's name is known ("device 'com1'"), later messages use it.
    void set_context(std::string context) { context_ = std::move(context); }
    SourceLocation where() const { return location_of(table_); }
    SourceLocation where(std::string_view key) const;
    bool has(std::string_view key) const { return table_.contains(key); }

    std::optional<std::string> string(std::string_view key, bool required = false);
    std::optional<bool> boolean(std::string_view key);
    std::optional<int64_t> integer(std::string_view key, bool required = false);
    // A non-negative integer (addresses, sizes, counts).
    std::optional<uint64_t> unsigned_integer(std::string_view key, bool required = false);
    // An integer, or a string with a unit: "4K", "64KiB", "1M", "2MiB", "1G".
    std::optional<uint64_t> byte_size(std::string_view key, bool required = false);
    const toml::table *subtable(std::string_view key);
    const toml::array *array(std::string_view key);
    // A node of any type; marks the key as known.
    const toml::node *node(std::string_view key);

    // Report every key that no accessor asked for.
    void reject_unknown_keys();

private:
    const toml::node *fetch(std::string_view key, bool required, const char *expected);
    void type_error(std::string_view key, const toml::node &node, const char *expected);

    const toml::table &table_;
    std::string context_;
    Diagnostics &diagnostics_;
    std::set<std::string, std::less<>> known_;
};

const char *toml_type_name(const toml::node &node);
// Parse "4K", "64KiB", "1M"... Returns nothing on a malformed string.
std::optional<uint64_t> parse_byte_size(std::string_view text);

} // namespace vmm
