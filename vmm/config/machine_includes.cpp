#include "config/machine_includes.hpp"

#include "config/toml_guard.hpp"
#include "config/toml_reader.hpp"
#include "support/errors.hpp"
#include "support/paths.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

namespace vmm {
namespace fs = std::filesystem;

namespace {

// A file being read, and the include that brought it in: the chain from
// the top file to the current one, to find cycles and to name them.
struct OpenFile {
    fs::path identity; // canonical when it exists, else as named
    std::string name;  // as messages give it
    SourceLocation included_at;
};

constexpr size_t kMaxIncludeDepth = 16;

fs::path identity_of(const fs::path &path)
{
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(path, ec);
    return ec ? path.lexically_normal() : canonical;
}

bool is_array_of_tables(const toml::node &node)
{
    const toml::array *array = node.as_array();
    return array != nullptr && !array->empty() && array->is_array_of_tables();
}

// Moves every entry of `overlay` into `base` by the rules in the header.
// Moving, not copying: TOML++ keeps a node's source position only on move.
void merge_into(toml::table &base, toml::table &&overlay)
{
    for (auto &&entry : overlay) {
        const toml::key &key = entry.first; // not a structured binding: lambdas capture it
        toml::node &value = entry.second;
        toml::node *existing = base.get(key.str());
        if (existing != nullptr && existing->is_table() && value.is_table()) {
            merge_into(*existing->as_table(), std::move(*value.as_table()));
            continue;
        }
        if (existing != nullptr && is_array_of_tables(*existing) && is_array_of_tables(value)) {
            toml::array &into = *existing->as_array();
            for (toml::node &element : *value.as_array())
                into.push_back(std::move(*element.as_table()));
            continue;
        }
        value.visit([&](auto &concrete) { base.insert_or_assign(key, std::move(concrete)); });
    }
}

std::string read_text(const fs::path &file, const SourceLocation &included_at, const std::string &shown)
{
    if (auto kind = paths::non_regular_kind(file))
        throw InputError(included_at, fmt::format("include \"{}\" is {}, not a file", shown, *kind));
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    if (in)
        text << in.rdbuf();
    if (!in || in.bad())
        throw InputError(included_at, errno_message(fmt::format("cannot read include \"{}\"", shown), errno));
    return text.str();
}

class IncludeReader {
public:
    explicit IncludeReader(MachineTree &tree) : tree_(tree) {}

    toml::table read(std::string_view text, const std::string &source_name, std::vector<OpenFile> &chain)
    {
        toml::table root = parse_toml_text(text, source_name, &tree_.columns[source_name]);
        toml::node *include = root.get("include");
        if (include == nullptr)
            return root;
        std::vector<std::pair<std::string, SourceLocation>> wanted = list_includes(*include);
        // Read first, merge after: the including file's own keys go on top.
        toml::table merged;
        const fs::path own_dir = fs::path(source_name).parent_path();
        for (const auto &[name, where] : wanted) {
            const fs::path found = resolve(name, own_dir, where);
            const std::string shown = found.lexically_normal().string();
            const fs::path identity = identity_of(found);
            for (const OpenFile &open : chain) {
                if (open.identity == identity)
                    throw InputError(where, cycle_message(chain, open, shown));
            }
            if (chain.size() >= kMaxIncludeDepth)
                throw InputError(where, fmt::format("includes nest deeper than {} files", kMaxIncludeDepth));
            if (!tree_.included_from.count(shown))
                tree_.included_from.emplace(shown, where);
            chain.push_back(OpenFile{identity, shown, where});
            toml::table included = read(read_text(found, where, name), shown, chain);
            chain.pop_back();
            merge_into(merged, std::move(included));
        }
        root.erase("include");
        merge_into(merged, std::move(root));
        return merged;
    }

private:
    static std::vector<std::pair<std::string, SourceLocation>> list_includes(const toml::node &include)
    {
        std::vector<std::pair<std::string, SourceLocation>> names;
        const toml::array *array = include.as_array();
        if (array == nullptr)
            throw InputError(location_of(include),
                             "'include' must be an array of file names, e.g. include = [\"platforms/pc.toml\"]");
        for (const toml::node &element : *array) {
            const auto *name = element.as_string();
            if (name == nullptr || name->get().empty())
                throw InputError(location_of(element), "'include': each entry must be a non-empty file name");
            names.emplace_back(name->get(), location_of(element));
        }
        return names;
    }

    // Next to the including file, then under each bundled configs/ directory.
    static fs::path resolve(const std::string &name, const fs::path &own_dir, const SourceLocation &where)
    {
        const fs::path given(name);
        std::vector<fs::path> candidates;
        if (given.is_absolute()) {
            candidates.push_back(given);
        } else {
            candidates.push_back((own_dir.empty() ? fs::path(".") : own_dir) / given);
            for (const fs::path &dir : paths::bundled_config_dirs())
                candidates.push_back(dir / given);
        }
        std::error_code ec;
        for (const fs::path &candidate : candidates) {
            if (fs::is_regular_file(candidate, ec))
                return candidate;
        }
        for (const fs::path &candidate : candidates) {
            if (paths::non_regular_kind(candidate))
                return candidate; // read_text says what it is
        }
        std::string looked;
        for (const fs::path &candidate : candidates)
            looked += (looked.empty() ? "" : ", ") + candidate.lexically_normal().string();
        throw InputError(where, fmt::format("include \"{}\" not found (looked for {})", name, looked));
    }

    static std::string cycle_message(const std::vector<OpenFile> &chain, const OpenFile &first, const std::string &again)
    {
        std::string text = "include cycle: ";
        bool in_cycle = false;
        for (const OpenFile &open : chain) {
            in_cycle = in_cycle || &open == &first;
            if (in_cycle)
                text += open.name + " includes ";
        }
        return text + again;
    }

    MachineTree &tree_;
};

} // namespace

toml::table parse_toml_text(std::string_view text, const std::string &source_name, ColumnMap *columns)
{
    // A UTF-8 byte-order mark, as some editors write: not part of the text
    // (editors do not count it as a column), so it goes before anything
    // looks at the text.
    constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
    if (text.substr(0, kByteOrderMark.size()) == kByteOrderMark)
        text.remove_prefix(kByteOrderMark.size());
    // TOML++ sees ASCII only (toml_guard.hpp); its columns are mapped back.
    auto prepared = prepare_toml(text, source_name);
    if (const auto *problem = std::get_if<CharacterProblem>(&prepared))
        throw InputError(problem->where, problem->message);
    const AsciiToml &ascii = std::get<AsciiToml>(prepared);
    if (columns != nullptr)
        *columns = ascii.columns;
    try {
        return toml::parse(ascii.text, source_name);
    } catch (const toml::parse_error &error) {
        const toml::source_region &source = error.source();
        const auto line = source.begin.line;
        if (auto redefined = explain_redefinition(ascii.text, source_name, line, source.begin.column,
                                                  error.description())) {
            redefined->where.column = ascii.columns.original(line, redefined->where.column);
            throw InputError(redefined->where, redefined->message);
        }
        throw InputError(SourceLocation{source_name, line, ascii.columns.original(line, source.begin.column)},
                         std::string(error.description()));
    }
}

MachineTree read_machine_tree(std::string_view text, const std::string &source_name)
{
    MachineTree tree;
    std::vector<OpenFile> chain{OpenFile{identity_of(source_name), source_name, {}}};
    try {
        tree.root = IncludeReader(tree).read(text, source_name, chain);
    } catch (const InputError &error) {
        // A syntax error inside an included file: say who included it.
        const std::string message = error.what();
        const std::string prefix = error.where().known() ? error.where().str() + ": " : "";
        if (!prefix.empty() && message.rfind(prefix, 0) == 0)
            throw InputError(error.where(), with_include_context(tree, error.where(), message.substr(prefix.size())));
        throw;
    }
    return tree;
}

std::string with_include_context(const MachineTree &tree, const SourceLocation &where, const std::string &message)
{
    auto found = tree.included_from.find(where.file);
    if (found == tree.included_from.end())
        return message;
    std::string text = message + " (in " + where.file;
    // Up the chain: pc.toml included from base.toml:2:12, included from m.toml:3:12.
    for (size_t hops = 0; found != tree.included_from.end() && hops < kMaxIncludeDepth; ++hops) {
        text += ", included from " + found->second.str();
        found = tree.included_from.find(found->second.file);
    }
    return text + ")";
}

} // namespace vmm
