// Every C++ example in docs/sdk.md compiles against the in-tree SDK headers,
// so that a documented call that changes or disappears fails the suite
// instead of misleading the next plugin author. Fragments name the wrapper
// in tests/sdk-docs/ that gives them their context (see its README).
#include "run_process.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {

struct Example {
    int line = 0;        // of the opening ```cpp in docs/sdk.md
    std::string wrapper; // "" for a whole file
    std::string code;
};

std::vector<Example> examples(const fs::path &doc)
{
    std::ifstream in(doc);
    REQUIRE(in);
    std::vector<Example> found;
    std::string marker; // the last non-blank line before a block
    Example *open = nullptr;
    int number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        if (open != nullptr) {
            if (line.rfind("```", 0) == 0)
                open = nullptr;
            else
                open->code += line + "\n";
            continue;
        }
        if (line == "```cpp") {
            INFO("docs/sdk.md:" << number
                                << ": a ```cpp block needs a marker before it: <!-- example: whole file "
                                   "--> or <!-- example: wrapped in NAME --> (tests/sdk-docs/README.md)");
            const std::string whole = "<!-- example: whole file -->";
            const std::string wrapped = "<!-- example: wrapped in ";
            Example example;
            example.line = number;
            if (marker != whole) {
                REQUIRE(marker.rfind(wrapped, 0) == 0);
                REQUIRE(marker.size() > wrapped.size() + 4);
                example.wrapper = marker.substr(wrapped.size(), marker.size() - wrapped.size() - 4);
            }
            found.push_back(example);
            open = &found.back();
            continue;
        }
        if (line.rfind("```", 0) == 0) {
            // Another language's block: skip to its end.
            while (std::getline(in, line) && line.rfind("```", 0) != 0)
                ++number;
            ++number;
        }
        if (!line.empty())
            marker = line;
    }
    REQUIRE(open == nullptr);
    return found;
}

} // namespace

TEST_CASE("every C++ example in docs/sdk.md compiles against the SDK headers", "[sdk][docs]")
{
    const fs::path source = paths::source_dir();
    const std::vector<Example> all = examples(source / "docs" / "sdk.md");
    // The page has an example per feature; a parser that finds none is broken.
    REQUIRE(all.size() >= 8);
    TempDir dir("sdk-doc-examples");
    for (const Example &example : all) {
        INFO("docs/sdk.md:" << example.line
                            << (example.wrapper.empty() ? "" : " in tests/sdk-docs/" + example.wrapper));
        std::string unit = example.code;
        if (!example.wrapper.empty()) {
            const fs::path wrapper = source / "tests" / "sdk-docs" / example.wrapper;
            REQUIRE(fs::is_regular_file(wrapper));
            unit = read_file(wrapper);
            const std::string slot = "// EXAMPLE\n";
            const auto at = unit.find(slot);
            REQUIRE(at != std::string::npos);
            unit.replace(at, slot.size(),
                         "#line " + std::to_string(example.line + 1) + " \"docs/sdk.md\"\n" + example.code);
        }
        const fs::path file = dir.path / ("example-" + std::to_string(example.line) + ".cpp");
        std::ofstream(file) << unit;
        const ProcessResult r = run_process({paths::cxx_compiler(), "-std=c++20", "-fsyntax-only", "-Wall", "-Wextra",
                                             "-Werror", "-Wno-unused-parameter", "-Wno-unused-private-field",
                                             "-I" + (source / "sdk" / "include").string(), file.string()});
        INFO(r.err);
        CHECK(r.exit_status == 0);
    }
}

TEST_CASE("the example check refuses a fragment that does not compile", "[sdk][docs]")
{
    // The same compiler line on a rotten example: proves the check can fail.
    TempDir dir("sdk-doc-rotten");
    const fs::path file = dir.path / "rotten.cpp";
    std::ofstream(file) << "#include <vmm/sdk/plugin.hpp>\nconstexpr vmm_config_key k = vmm::sdk::int_key(\"a\", "
                           "\"b\", vmm::sdk::no_such_option);\n";
    const ProcessResult r =
        run_process({paths::cxx_compiler(), "-std=c++20", "-fsyntax-only",
                     "-I" + (fs::path(paths::source_dir()) / "sdk" / "include").string(), file.string()});
    CHECK(r.exit_status != 0);
    CHECK_THAT(r.err, Catch::Contains("no_such_option"));
}
