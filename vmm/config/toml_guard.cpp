#include "config/toml_guard.hpp"

#include "support/utf8.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <toml++/toml.h>

#include <vector>

namespace vmm {
namespace {

enum class State { normal, comment, basic, literal, multiline_basic, multiline_literal };

// What ends a bare token for TOML++: whitespace, a newline, and the
// characters that separate keys, values and tables.
bool is_terminator(char c)
{
    switch (c) {
    case ' ': case '\t': case '\r': case '\n': case '#': case ',': case '=': case '.':
    case '[': case ']': case '{': case '}':
        return true;
    default:
        return false;
    }
}

bool starts_with(std::string_view text, std::size_t i, std::string_view prefix)
{
    return text.substr(i, prefix.size()) == prefix;
}

// TOML++ builds one nested table per dotted key part and per table-header
// part, and frees them recursively: a key of ~50,000 parts overflows the
// stack. Its own limit (TOML_MAX_NESTED_VALUES) covers arrays and inline
// tables only. A machine file nests three levels at most; these bound the
// depth of any tree the parser builds to about 32 + 32 * 33.
constexpr uint32_t kMaxKeyParts = 32;
constexpr uint32_t kMaxValueNesting = 32;

} // namespace

std::optional<CharacterProblem> check_toml_characters(std::string_view text, const std::string &source_name)
{
    auto prepared = prepare_toml(text, source_name);
    if (auto *problem = std::get_if<CharacterProblem>(&prepared))
        return std::move(*problem);
    return std::nullopt;
}

std::variant<AsciiToml, CharacterProblem> prepare_toml(std::string_view text, const std::string &source_name)
{
    AsciiToml result;
    result.text.reserve(text.size());
    uint32_t ascii_column = 1;
    bool converting = false;           // a literal string with non-ASCII text, written as a basic one
    // Appends `piece` (ASCII) standing for one character of the original at
    // `from_column`; a piece wider than one column is remembered.
    // Appends ASCII text the same width as the original's.
    const auto copy = [&](std::string_view piece) {
        result.text.append(piece);
        for (const char c : piece)
            ascii_column = c == '\n' ? 1 : ascii_column + 1;
    };
    // Appends `piece` (ASCII) standing for the one character of the
    // original at from_line:from_column; a wider piece is remembered.
    const auto expand = [&](std::string_view piece, uint32_t from_line, uint32_t from_column) {
        if (piece.size() != 1)
            result.columns.add(from_line, ascii_column, from_column, static_cast<uint32_t>(piece.size()));
        copy(piece);
    };
    const auto escape = [](char32_t cp) {
        return cp > 0xffff ? fmt::format("\\U{:08X}", static_cast<uint32_t>(cp))
                           : fmt::format("\\u{:04X}", static_cast<uint32_t>(cp));
    };
    // Whether the literal string whose text starts at `from` holds non-ASCII:
    // then it is handed to TOML++ as a basic string, with escapes.
    const auto literal_has_non_ascii = [&](std::size_t from, bool multiline) {
        for (std::size_t k = from; k < text.size(); ++k) {
            if (multiline ? starts_with(text, k, "'''") : (text[k] == '\'' || text[k] == '\n'))
                return false;
            if (static_cast<uint8_t>(text[k]) >= 0x80)
                return true;
        }
        return false;
    };
    State state = State::normal;
    uint32_t line = 1, column = 1;
    bool after_backslash = false;      // basic string, after "\" and whitespace
    bool in_bare_token = false;        // normal state, inside a run of non-terminators
    // Depth (normal state): the dots since the last '=', ',', bracket,
    // brace or newline bound a key's parts (a value has at most a few: 1.5,
    // 12:00:00.5); brackets and braces in values nest.
    uint32_t key_dots = 0;
    SourceLocation key_start;          // where the dotted key began
    bool at_line_start = true;         // only whitespace so far on this line
    bool in_header = false;            // inside [table] or [[array.of.tables]]
    uint32_t nesting = 0;              // open [ and { in values
    const auto problem = [&](std::string message) {
        return CharacterProblem{SourceLocation{source_name, line, column}, std::move(message)};
    };

    const auto check_depth = [&](char c, std::size_t i) -> std::optional<CharacterProblem> {
        const bool blank = c == ' ' || c == '\t' || c == '\r';
        switch (c) {
        case '.':
            if (key_dots++ == 0 && !key_start.known())
                key_start = SourceLocation{source_name, line, column};
            if (key_dots >= kMaxKeyParts)
                return CharacterProblem{key_start.known() ? key_start : SourceLocation{source_name, line, column},
                                        fmt::format("a key or table name of more than {} dotted parts (a machine "
                                                    "file's tables nest a few levels deep)",
                                                    kMaxKeyParts)};
            break;
        case '[':
            if (at_line_start && nesting == 0) {
                in_header = true; // "[[" opens an array-of-tables header: the second '[' is skipped below
            } else if (++nesting > kMaxValueNesting) {
                return CharacterProblem{SourceLocation{source_name, line, column},
                                        fmt::format("arrays and inline tables nested more than {} deep",
                                                    kMaxValueNesting)};
            }
            break;
        case '{':
            if (++nesting > kMaxValueNesting)
                return CharacterProblem{SourceLocation{source_name, line, column},
                                        fmt::format("arrays and inline tables nested more than {} deep",
                                                    kMaxValueNesting)};
            break;
        case ']':
            if (in_header) {
                if (i + 1 >= text.size() || text[i + 1] != ']')
                    in_header = false; // the last ']' of "]]" closes it
            } else if (nesting > 0) {
                --nesting;
            }
            break;
        case '}':
            if (nesting > 0)
                --nesting;
            break;
        default: break;
        }
        if (c == '=' || c == ',' || c == '[' || c == ']' || c == '{' || c == '}' || c == '\n') {
            key_dots = 0;
            key_start = SourceLocation{};
        } else if (!blank && c != '.' && !key_start.known()) {
            key_start = SourceLocation{source_name, line, column};
        }
        if (c == '\n')
            at_line_start = true, in_header = false;
        else if (!blank && !(in_header && c == '['))
            at_line_start = false;
        return std::nullopt;
    };

    for (std::size_t i = 0; i < text.size();) {
        const auto decoded = decode_utf8(text, i);
        if (!decoded)
            return problem(fmt::format("invalid UTF-8 (byte {:#04x})", static_cast<uint8_t>(text[i])));
        const auto [cp, length] = *decoded;
        const char c = static_cast<char>(cp < 0x80 ? cp : 0);

        // TOML++ sees ASCII only: a non-ASCII character in a comment becomes
        // a space, in a string an escape (columns are mapped back).
        std::string replacement;
        bool replaced = false;
        if (cp >= 0x80) {
            if (state == State::normal) // between tokens, or inside a bare one: not TOML
                return problem(fmt::format("character U+{:04X} outside a string or comment", static_cast<uint32_t>(cp)));
            replacement = state == State::comment ? std::string(" ") : escape(cp);
            replaced = true;
        }
        const uint32_t from_line = line, from_column = column;

        std::size_t advance = length;
        switch (state) {
        case State::normal:
            if (auto deep = check_depth(c, i))
                return *deep;
            // Inside a bare token (a key, a number, a date, an invalid word)
            // TOML++ scans every character up to a terminator, quotes
            // included: only where a token may start does a quote open a
            // string.
            if (in_bare_token) {
                if (is_terminator(c))
                    in_bare_token = false;
                else
                    break;
            }
            if (c == '#') {
                state = State::comment;
            } else if (starts_with(text, i, "\"\"\"")) {
                state = State::multiline_basic;
                advance = 3;
            } else if (starts_with(text, i, "'''")) {
                state = State::multiline_literal;
                advance = 3;
                converting = literal_has_non_ascii(i + 3, true);
                if (converting)
                    replacement = "\"\"\"", replaced = true;
            } else if (c == '"') {
                state = State::basic;
            } else if (c == '\'') {
                state = State::literal;
                converting = literal_has_non_ascii(i + 1, false);
                if (converting)
                    replacement = "\"", replaced = true;
            } else if (!is_terminator(c)) {
                in_bare_token = true;
            }
            break;
        case State::comment:
            if (c == '\n') {
                state = State::normal;
                (void)check_depth(c, i); // a new line: no key yet
            }
            break;
        case State::basic:
        case State::multiline_basic:
            // After a backslash and whitespace (a line-ending backslash, or
            // what TOML++ takes for one) whitespace is skipped.
            if (after_backslash) {
                if (c == ' ' || c == '\t' || c == '\r' || (c == '\n' && state == State::multiline_basic))
                    break;
                after_backslash = false;
            }
            if (c == '\\') {
                const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
                if (next == ' ' || next == '\t' || next == '\r' || next == '\n')
                    after_backslash = true; // whitespace follows: trimmed, or an error
                else if (next >= 0x80) // its replacement would make "\\u..." of it
                    return problem("a backslash before a non-ASCII character is not an escape (write \\\\ for a "
                                   "backslash, or \\uXXXX)");
                else if (next != 0)
                    advance = 2; // an escaped ASCII character
            } else if (state == State::basic && (c == '"' || c == '\n')) {
                state = State::normal;
            } else if (state == State::multiline_basic && starts_with(text, i, "\"\"\"")) {
                state = State::normal;
                advance = 3;
            }
            break;
        case State::literal:
            if (c == '\'' || c == '\n') {
                state = State::normal;
                if (converting && c == '\'')
                    replacement = "\"", replaced = true;
                converting = false;
            } else if (converting && (c == '\\' || c == '"')) {
                replacement = std::string("\\") + c, replaced = true; // literal text in a basic string
            }
            break;
        case State::multiline_literal:
            if (starts_with(text, i, "'''")) {
                state = State::normal;
                advance = 3;
                if (converting)
                    replacement = "\"\"\"", replaced = true;
                converting = false;
            } else if (converting && (c == '\\' || c == '"')) {
                replacement = std::string("\\") + c, replaced = true;
            }
            break;
        }
        if (!replaced)
            copy(text.substr(i, advance));
        else if (advance == 1 || cp >= 0x80)
            expand(replacement, from_line, from_column);
        else
            copy(replacement); // a delimiter: as wide as the original
        // Keep line and column in step with what was consumed.
        for (std::size_t k = i; k < i + advance && k < text.size();) {
            const auto d = decode_utf8(text, k);
            const std::size_t step = d ? d->second : 1;
            if (text[k] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
            k += step;
        }
        i += advance;
    }
    return result;
}

uint32_t ColumnMap::original(uint32_t line, uint32_t ascii_column) const
{
    // Past an expansion on `line`, a column is shifted by what the
    // expansions before it took; inside one, it is the expanded character's.
    int64_t shift = 0;
    for (const Expansion &e : expansions_) {
        if (e.line < line)
            continue;
        if (e.line > line || e.ascii_column > ascii_column)
            break;
        if (ascii_column < e.ascii_column + e.width)
            return e.original_column;
        shift = static_cast<int64_t>(e.original_column) + 1 - (e.ascii_column + e.width);
    }
    return static_cast<uint32_t>(static_cast<int64_t>(ascii_column) + shift);
}

void ColumnMap::add(uint32_t line, uint32_t ascii_column, uint32_t original_column, uint32_t width)
{
    expansions_.push_back(Expansion{line, ascii_column, original_column, width});
}

namespace {

// The parts of a key as written (`"a.b" . c` is ["a.b", "c"]), quotes
// removed; nothing if it does not look like a key.
std::optional<std::vector<std::string>> key_parts(std::string_view raw)
{
    std::vector<std::string> parts;
    std::string part;
    bool any = false;
    char quote = 0;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (quote != 0) {
            if (c == quote) {
                quote = 0;
            } else {
                if (c == '\\' && quote == '"' && i + 1 < raw.size())
                    part += raw[i++]; // keep an escape as written
                part += raw[i];
            }
        } else if (c == '"' || c == '\'') {
            quote = c;
            any = true;
        } else if (c == '.') {
            if (!any)
                return std::nullopt;
            parts.push_back(std::move(part));
            part.clear();
            any = false;
        } else if (c != ' ' && c != '\t') {
            part += c;
            any = true;
        }
    }
    if (!any || quote != 0)
        return std::nullopt;
    parts.push_back(std::move(part));
    return parts;
}

std::string join_key(const std::vector<std::string> &parts)
{
    std::string text;
    for (const std::string &part : parts) {
        const bool bare = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        });
        text += (text.empty() ? "" : ".") + (bare ? part : "\"" + part + "\"");
    }
    return text;
}

// The latest definition of `name` anywhere in `node` (tables and arrays of
// tables), by line.
void find_latest(const toml::node &node, const std::string &name, std::optional<toml::source_position> &found)
{
    if (const toml::table *table = node.as_table()) {
        for (const auto &[key, value] : *table) {
            if (key.str() == name && (!found || key.source().begin.line > found->line))
                found = key.source().begin;
            find_latest(value, name, found);
        }
    } else if (const toml::array *array = node.as_array()) {
        for (const toml::node &element : *array)
            find_latest(element, name, found);
    }
}

} // namespace

std::optional<CharacterProblem> explain_redefinition(std::string_view text, const std::string &source_name,
                                                     uint32_t line, uint32_t column, std::string_view description)
{
    const bool header = description.find("parsing table header: cannot redefine existing") != std::string_view::npos;
    if (!header && description.find("cannot redefine existing") == std::string_view::npos)
        return std::nullopt;
    // The error's line, up to its column.
    std::size_t start = 0;
    for (uint32_t l = 1; l < line && start != std::string_view::npos; ++l) {
        start = text.find('\n', start);
        if (start != std::string_view::npos)
            ++start;
    }
    if (start == std::string_view::npos || line == 0)
        return std::nullopt;
    const std::string_view line_text = text.substr(start, text.find('\n', start) - start);
    // The last key before the column: after a line start, '[', '{' or ','
    // and up to '=' or ']' (outside quotes).
    std::size_t key_begin = 0, key_end = std::string_view::npos;
    char quote = 0;
    const std::size_t at = column > 0 ? column - 1 : 0; // roughly: columns count characters
    for (std::size_t i = 0; i < line_text.size(); ++i) {
        const char c = line_text[i];
        if (quote != 0) {
            if (c == '\\' && quote == '"')
                ++i;
            else if (c == quote)
                quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '[' || c == '{' || c == ',') {
            if (i >= at && key_end != std::string_view::npos)
                break; // the key before the error's column
            key_begin = i + 1;
            key_end = std::string_view::npos;
        } else if ((c == '=' || c == ']') && key_end == std::string_view::npos) {
            key_end = i;
            if (header)
                break;
        } else if (c == '#') {
            break;
        }
    }
    if (key_end == std::string_view::npos || key_end <= key_begin)
        return std::nullopt;
    const auto parts = key_parts(line_text.substr(key_begin, key_end - key_begin));
    if (!parts)
        return std::nullopt;
    std::size_t first_char = key_begin;
    while (first_char < key_end && (line_text[first_char] == ' ' || line_text[first_char] == '\t'))
        ++first_char;
    // Column of the key: characters, not bytes, before it.
    uint32_t key_column = 1;
    for (std::size_t i = 0; i < first_char;) {
        const auto d = decode_utf8(line_text, i);
        i += d ? d->second : 1;
        ++key_column;
    }
    const SourceLocation where{source_name, line, key_column};
    const std::string key = join_key(*parts);

    // Where it was first defined: in the file up to this line, the latest
    // definition of the longest part of the key that has one.
    std::string first;
    const std::string_view before = text.substr(0, start);
    if (!check_toml_characters(before, source_name)) {
        try {
            const toml::table root = toml::parse(before, source_name);
            for (std::size_t n = parts->size(); n > 0 && first.empty(); --n) {
                std::optional<toml::source_position> found;
                find_latest(root, (*parts)[n - 1], found);
                if (found) {
                    const std::string place = SourceLocation{source_name, found->line, found->column}.str();
                    const bool part_only = n != parts->size(); // a shorter part was defined
                    first = part_only ? fmt::format(" redefines '{}', already defined at {}",
                                                    join_key({(*parts)[n - 1]}), place)
                                      : fmt::format(" is defined twice (first at {})", place);
                }
            }
        } catch (const toml::parse_error &) {
        }
    }
    return CharacterProblem{where, fmt::format("{} '{}'{}", header ? "table" : "key", key,
                                               first.empty() ? " is defined twice" : first)};
}

} // namespace vmm
