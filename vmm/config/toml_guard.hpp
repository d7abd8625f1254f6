// Prepares a machine file's text for TOML++: any Unicode text in comments
// and strings, ASCII only for the parser.
//
// Why: TOML++ 3.3.0 (Debian 12's) reaches __builtin_unreachable() in
// is_non_ascii_horizontal_whitespace() for many non-ASCII code points
// (upstream issues #190 and #295, fixed by PR #305 after 3.3.0): undefined
// behaviour a hostile machine file could trigger, and Romanian (ă, U+0103)
// among them. So TOML++ never sees a non-ASCII byte: in a comment each
// non-ASCII character becomes one space (the parser never needs that text,
// and every line and column stays where it was); in a string it becomes a
// \uXXXX or \UXXXXXXXX escape (a literal string holding one is handed over
// as a basic string, its backslashes and quotes escaped), and a ColumnMap
// maps TOML++'s columns on those lines back to the file's. Non-ASCII text
// outside strings and comments is not TOML and is refused where it is, as
// is invalid UTF-8.
#pragma once

#include "support/source_location.hpp"

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>
#include <string>
#include <string_view>

namespace vmm {

struct CharacterProblem {
    SourceLocation where;
    std::string message;
};

// Columns of the ASCII text TOML++ parsed, back to the file's (lines do not
// change). Columns count characters, as TOML++ and editors do.
class ColumnMap {
public:
    uint32_t original(uint32_t line, uint32_t ascii_column) const;
    // One character at line:original_column became `width` ASCII characters
    // from ascii_column on. Added in order.
    void add(uint32_t line, uint32_t ascii_column, uint32_t original_column, uint32_t width);
    bool empty() const { return expansions_.empty(); }

private:
    struct Expansion {
        uint32_t line, ascii_column, original_column, width;
    };
    std::vector<Expansion> expansions_;
};

struct AsciiToml {
    std::string text; // what TOML++ parses: ASCII only
    ColumnMap columns;
};

std::variant<AsciiToml, CharacterProblem> prepare_toml(std::string_view text, const std::string &source_name);

// The problem prepare_toml() finds, if any.
std::optional<CharacterProblem> check_toml_characters(std::string_view text, const std::string &source_name);

} // namespace vmm

namespace vmm {

// TOML++ 3.3.0 garbles a quoted key in "cannot redefine existing ..." (a
// quoted duplicate `"memory"` reads '"mememory" '). Given such a parse error
// at line:column of `text`, says which key is defined twice, at its own
// position, and where it was defined first when that can be found; nothing
// for any other error.
std::optional<CharacterProblem> explain_redefinition(std::string_view text, const std::string &source_name,
                                                     uint32_t line, uint32_t column, std::string_view description);

} // namespace vmm
