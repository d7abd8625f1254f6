// What end-to-end tests share: running a bundled machine, showing what vmm
// printed when a check fails, and scratch directories.
#pragma once

#include "run_process.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace vmm::test {

// Attaches vmm's exit status and output to the next failing check.
inline void show(const ProcessResult &r, std::size_t limit = 8000)
{
    UNSCOPED_INFO("exit status " << r.exit_status << ", signal " << r.signal << (r.timed_out ? ", timed out" : ""));
    UNSCOPED_INFO("stdout (" << r.out.size() << " bytes):\n" << r.out.substr(0, limit));
    UNSCOPED_INFO("stderr:\n" << r.err.substr(0, limit));
}

// Runs the bundled machine configs/machines/<name>.toml with `extra` options;
// what it printed goes with the next failing check.
inline ProcessResult run_machine(const std::string &name, const std::vector<std::string> &extra = {})
{
    std::vector<std::string> args{"--config", "machines/" + name + ".toml"};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = run_vmm(args);
    show(r);
    return r;
}

inline std::string read_file(const std::filesystem::path &file)
{
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// A fresh directory per instance, removed with it.
struct TempDir {
    std::filesystem::path path;

    explicit TempDir(const std::string &purpose = "e2e")
    {
        static std::atomic<int> counter{0};
        path = std::filesystem::temp_directory_path() /
               ("vmm-" + purpose + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;

    // Writes `text` to `name` in the directory; returns the file's path.
    std::string write(const std::string &name, const std::string &text) const
    {
        std::ofstream(path / name) << text;
        return (path / name).string();
    }
    std::string read(const std::string &name) const { return read_file(path / name); }
};

} // namespace vmm::test
