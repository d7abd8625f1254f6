// A scratch directory for a test (fresh per instance, removed with it), and
// reading a file whole.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace vmm::test {

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
