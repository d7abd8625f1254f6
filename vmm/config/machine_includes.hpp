// `include = ["platforms/pc.toml"]`: a machine file made of other machine
// files. The files are read and merged into one TOML tree before any section
// is parsed, so a profile is checked exactly like a machine file, and every
// node keeps the file, line and column it came from.
//
// Merging, for each included file in order and then the including file:
//   - tables ([machine], [cpu], ...) merge key by key, recursively; a key the
//     including file sets replaces the included one (a profile gives
//     defaults, the machine file decides);
//   - arrays of tables ([[device]], [[image]], [[check]]) are concatenated,
//     included entries first (a device name given twice is then refused by
//     the device section, naming both places);
//   - any other value is replaced.
#pragma once

#include "config/toml_guard.hpp"

#include "support/source_location.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace vmm {

struct MachineTree {
    toml::table root;
    // For each included file (its name as messages give it): where the
    // include that brought it in is, so a message about it can say so.
    std::map<std::string, SourceLocation> included_from;
    // For each file read (its name as messages give it): its columns as
    // TOML++ saw them, back to the file's (toml_guard.hpp).
    std::map<std::string, ColumnMap> columns;
};

// Parses `text` (named `source_name` in messages; relative includes are
// looked for next to it, then under the bundled configs/ directories) and
// every file it includes. Throws InputError(s): a syntax error inside an
// included file keeps its own file:line:col and says which file included
// it; a missing include, a non-regular one, an include cycle or an
// `include` that is not an array of strings is reported where it is written.
MachineTree read_machine_tree(std::string_view text, const std::string &source_name);

// The TOML text of one file, parsed: a byte-order mark skipped, characters
// TOML++ mishandles refused (toml_guard), syntax errors located.
// `columns`, when given, receives how TOML++'s columns map back to the text's.
toml::table parse_toml_text(std::string_view text, const std::string &source_name, ColumnMap *columns = nullptr);

// Adds " (in NAME, included from FILE:LINE:COL)" to a message about a node
// of an included file; returns `message` unchanged for the top file.
std::string with_include_context(const MachineTree &tree, const SourceLocation &where, const std::string &message);

} // namespace vmm
