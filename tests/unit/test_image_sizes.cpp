// Image and module files are measured (stat) before they are read: a
// file that cannot fit in guest RAM is refused without reading it. A 3 GiB
// sparse image for an 8 KiB machine took 91 s and 3 GB to be refused.
#include "boot/image_loader.hpp"
#include "config/machine_loader.hpp"

#include "support/input_error_text.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

using namespace vmm;
namespace fs = std::filesystem;

namespace {

// A sparse file of `size` bytes (no disk blocks), removed at the end.
struct SparseFile {
    fs::path path;
    SparseFile(const std::string &name, uint64_t size)
        : path(fs::temp_directory_path() / ("vmm-sizes-" + std::to_string(::getpid()) + "-" + name))
    {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        REQUIRE(fd >= 0);
        REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
        ::close(fd);
    }
    ~SparseFile() { fs::remove(path); }
};

// The images' error text and how long loading took.
std::pair<std::string, double> load(const std::string &machine)
{
    const MachineSpec spec = parse_machine(machine, "m.toml", {vmm::test::paths::guest_dir()});
    const auto start = std::chrono::steady_clock::now();
    const std::string text = vmm::test::input_error_text([&] { load_images(spec); });
    return {text, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
}

} // namespace

TEST_CASE("a flat image larger than guest RAM is refused from its size, unread", "[boot][images]")
{
    const SparseFile big("flat.bin", 2ull << 30);
    const auto [text, seconds] = load("[machine]\nmemory = \"8K\"\n[[image]]\nfile = \"" + big.path.string() +
                                      "\"\naddress = 0x1000\n");
    CHECK(text == "m.toml:3:1: image " + big.path.string() +
                      " (2147483648 bytes at 0x1000) does not fit in guest RAM (0x2000 bytes at 0)");
    CHECK(seconds < 0.5); // reading 2 GiB takes seconds (and 2 GB)
}

TEST_CASE("multiboot modules that cannot fit in guest RAM are refused from their sizes, unread", "[boot][images]")
{
    const SparseFile one("module-1", 1ull << 30), two("module-2", 1ull << 30);
    const std::string head = "[machine]\nmemory = \"1G\"\n[[image]]\nfile = \"multiboot.elf\"\nformat = \"multiboot\"\n";
    const auto [text, seconds] = load(head + "modules = [{ file = \"" + one.path.string() + "\" }, { file = \"" +
                                      two.path.string() + "\" }]\n");
    // The first alone fills RAM exactly: it is the second that cannot fit.
    const std::size_t second = 27 + one.path.string().size();
    CHECK(text == "m.toml:6:" + std::to_string(second) + ": module " + two.path.string() +
                      " (1073741824 bytes, 2147483648 with the modules before it) does not fit in guest RAM "
                      "(0x40000000 bytes)");
    CHECK(seconds < 0.5);
}
