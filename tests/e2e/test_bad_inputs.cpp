// Every row of docs/bad-inputs.md, run: vmm on the row's input must exit
// with the row's status and print the row's expected text on stderr.
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <vmm/plugin_abi.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include <sys/stat.h>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {

struct Row {
    int number = 0;
    fs::path input;
    std::vector<std::string> arguments;
    std::string expected;
    int status = 0;
};

std::string trim(std::string text)
{
    const auto first = text.find_first_not_of(" \t");
    const auto last = text.find_last_not_of(" \t");
    return first == std::string::npos ? "" : text.substr(first, last - first + 1);
}

std::string replace_all(std::string text, const std::string &from, const std::string &to)
{
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

std::vector<Row> read_table()
{
    const fs::path doc = fs::path(paths::source_dir()) / "docs" / "bad-inputs.md";
    std::ifstream in(doc);
    REQUIRE(in);
    std::vector<Row> rows;
    const std::regex row_pattern(R"(^\|\s*(\d+)\s*\|(.*)\|\s*(\d+)\s*\|\s*$)");
    const std::regex link(R"(\[[^\]]*\]\(([^)]+)\))");
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (!std::regex_match(line, m, row_pattern))
            continue;
        Row row;
        row.number = std::stoi(m[1]);
        row.status = std::stoi(m[3]);
        // The middle cells: input | arguments | what is wrong | expected.
        std::vector<std::string> cells;
        std::stringstream middle(m[2].str());
        for (std::string cell; std::getline(middle, cell, '|');)
            cells.push_back(trim(cell));
        INFO("row " << row.number << ": " << line);
        REQUIRE(cells.size() == 4);
        std::smatch target;
        REQUIRE(std::regex_search(cells[0], target, link));
        row.input = fs::weakly_canonical(doc.parent_path() / target[1].str());
        std::string arguments = cells[1];
        arguments.erase(std::remove(arguments.begin(), arguments.end(), '`'), arguments.end());
        std::stringstream words(arguments);
        for (std::string word; words >> word;)
            row.arguments.push_back(word);
        const auto open = cells[3].find("``"), close = cells[3].rfind("``");
        REQUIRE(open != std::string::npos);
        REQUIRE(close > open);
        row.expected = trim(cells[3].substr(open + 2, close - open - 2));
        rows.push_back(std::move(row));
    }
    return rows;
}

// `{fifo}`: a FIFO nobody reads, made anew for each row that names it.
std::string substitute(std::string text, const Row &row, const std::string &fifo = "")
{
    text = replace_all(text, "{fifo}", fifo);
    text = replace_all(text, "{file}", row.input.string());
    text = replace_all(text, "{dir}", row.input.parent_path().string());
    text = replace_all(text, "{fixtures}", paths::fixture_dir());
    return replace_all(text, "{abi}", std::to_string(VMM_ABI_MAJOR) + "." + std::to_string(VMM_ABI_MINOR));
}

} // namespace

TEST_CASE("every row of the table of bad inputs behaves as the table says", "[e2e][bad-inputs]")
{
    const std::vector<Row> rows = read_table();
    REQUIRE(rows.size() >= 50);
    int machine_files = 0;
    for (const Row &row : rows) {
        TempDir scratch("bad-input-fifo");
        const std::string fifo = (scratch.path / "fifo").string();
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        // A machine file that names `{fifo}` runs as a copy naming this one;
        // `{file}` is then the copy.
        Row run = row;
        const std::string text = read_file(row.input);
        if (text.find("{fifo}") != std::string::npos)
            run.input = scratch.write(row.input.filename().string(), replace_all(text, "{fifo}", fifo));
        std::vector<std::string> args{"--config", run.input.string()};
        for (const std::string &a : row.arguments)
            args.push_back(substitute(a, run, fifo));
        ProcessOptions options;
        options.timeout = std::chrono::milliseconds(20000); // a FIFO opened for writing would block for ever
        const ProcessResult r = run_vmm(args, options);
        const std::string expected = substitute(row.expected, run, fifo);
        INFO("row " << row.number << " (" << row.input.filename().string() << ")\nexpected: " << expected
                    << "\nstderr:\n" << r.err);
        CHECK_FALSE(r.timed_out);
        CHECK(r.signal == 0);
        CHECK(r.exit_status == row.status);
        CHECK_THAT(r.err, Catch::Contains(expected));
        machine_files += row.status == 2 && row.input.parent_path().filename() == "bad-inputs";
    }
    CHECK(machine_files >= 30);
}

TEST_CASE("every input in tests/bad-inputs has its row in the table", "[e2e][bad-inputs]")
{
    std::set<fs::path> listed;
    for (const Row &row : read_table())
        listed.insert(row.input);
    for (const auto &entry : fs::directory_iterator(fs::path(paths::source_dir()) / "tests" / "bad-inputs")) {
        if (entry.path().extension() != ".toml")
            continue;
        INFO(entry.path());
        CHECK(listed.count(fs::weakly_canonical(entry.path())) == 1);
    }
}

// The README quotes the table's size; rows added later must not leave it stale.
TEST_CASE("the table of bad inputs is numbered 1..N and the README gives N", "[e2e][bad-inputs]")
{
    std::set<int> numbers;
    for (const Row &row : read_table())
        CHECK(numbers.insert(row.number).second);
    REQUIRE(!numbers.empty());
    CHECK(*numbers.begin() == 1);
    CHECK(*numbers.rbegin() == static_cast<int>(numbers.size()));

    std::ifstream in(fs::path(paths::source_dir()) / "README.md");
    REQUIRE(in);
    const std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::smatch m;
    REQUIRE(std::regex_search(readme, m, std::regex(R"(docs/bad-inputs\.md\)\s+lists\s+(\d+)\s+of)")));
    CHECK(std::stoi(m[1]) == static_cast<int>(numbers.size()));
}
