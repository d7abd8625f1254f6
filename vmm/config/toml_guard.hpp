// Checks a machine file's characters before TOML++ sees them.
//
// Why: TOML++ 3.3.0 (Debian 12's) reaches __builtin_unreachable() in
// is_non_ascii_horizontal_whitespace() for many non-ASCII code points it
// meets where whitespace may appear (upstream issues #190 and #295, fixed
// by PR #305 after 3.3.0): undefined behaviour a hostile machine file could
// trigger. Non-ASCII text is valid TOML only inside strings and comments,
// so anything else is refused here with a located message, as is invalid
// UTF-8, and the one place inside strings the bug is reached (the first
// character after a backslash and whitespace in a basic string).
#pragma once

#include "support/source_location.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace vmm {

struct CharacterProblem {
    SourceLocation where;
    std::string message;
};

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
