// Image and module files are measured (stat) before they are read: a
// file that cannot fit in guest RAM is refused without reading it. A 3 GiB
// sparse image for an 8 KiB machine took 91 s and 3 GB to be refused.
// An ELF is not read whole: its headers, then its PT_LOAD ranges once they
// are checked against RAM.
#include "boot/image_loader.hpp"
#include "config/machine_loader.hpp"

#include "elf_builder.hpp"
#include "support/input_error_text.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

using namespace vmm;
namespace fs = std::filesystem;

namespace {

// A sparse file of `size` bytes (no disk blocks), removed at the end.
struct SparseFile {
    fs::path path;
    // `pieces`: bytes written at their offsets (the rest is a hole).
    SparseFile(const std::string &name, uint64_t size, const std::vector<std::pair<uint64_t, std::vector<uint8_t>>> &pieces = {})
        : path(fs::temp_directory_path() / ("vmm-sizes-" + std::to_string(::getpid()) + "-" + name))
    {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        REQUIRE(fd >= 0);
        for (const auto &[offset, bytes] : pieces)
            REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) ==
                    static_cast<ssize_t>(bytes.size()));
        REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
        ::close(fd);
    }
    ~SparseFile() { fs::remove(path); }
};

// Counts the bytes read through it.
class CountingSource final : public ByteSource {
public:
    CountingSource(std::unique_ptr<ByteSource> inner, uint64_t &count) : inner_(std::move(inner)), count_(count) {}
    uint64_t size() const override { return inner_->size(); }
    void read(uint64_t offset, std::span<uint8_t> out) const override
    {
        count_ += out.size();
        inner_->read(offset, out);
    }

private:
    std::unique_ptr<ByteSource> inner_;
    uint64_t &count_;
};

struct Loaded {
    std::string text; // the images' error text
    double seconds = 0; // how long loading took
    uint64_t bytes_read = 0;
    std::vector<LoadedImage> images;
};

Loaded load_counting(const std::string &machine)
{
    const MachineSpec spec = parse_machine(machine, "m.toml", {vmm::test::paths::guest_dir()});
    Loaded loaded;
    const ImageOpener open = [&](const fs::path &file) {
        return std::make_unique<CountingSource>(open_image_file(file), loaded.bytes_read);
    };
    const auto start = std::chrono::steady_clock::now();
    loaded.text = vmm::test::input_error_text([&] { loaded.images = load_images(spec, open); });
    loaded.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return loaded;
}

std::pair<std::string, double> load(const std::string &machine)
{
    const Loaded loaded = load_counting(machine);
    return {loaded.text, loaded.seconds};
}

// A valid ELF64 whose one PT_LOAD (`bytes` at `paddr`, `memsz` in memory)
// is read from file offset `data_at`.
std::vector<std::pair<uint64_t, std::vector<uint8_t>>> elf_pieces(uint64_t paddr, const std::vector<uint8_t> &bytes,
                                                                   uint64_t memsz, uint64_t data_at)
{
    std::vector<uint8_t> head = vmm::test::make_elf64({{paddr, bytes, memsz}}, paddr);
    vmm::test::phdr64(head, 0)->p_offset = data_at;
    head.resize(sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr));
    return {{0, head}, {data_at, bytes}};
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

TEST_CASE("a large ELF is read by its headers and PT_LOAD ranges, not whole", "[boot][images]")
{
    // 2 GiB of which 3 bytes load, from 1 GiB into the file (the rest could be
    // debug information).
    const std::vector<uint8_t> code{0x90, 0x90, 0xf4};
    const SparseFile elf("large.elf", 2ull << 30, elf_pieces(0x1000, code, 0x2000, 1ull << 30));
    const Loaded loaded =
        load_counting("[machine]\nmemory = \"64K\"\n[[image]]\nfile = \"" + elf.path.string() + "\"\n");
    CHECK(loaded.text == "");
    CHECK(loaded.seconds < 0.5);
    CHECK(loaded.bytes_read < 4096); // identification, headers, program headers, the 3 bytes
    REQUIRE(loaded.images.size() == 1);
    REQUIRE(loaded.images[0].chunks.size() == 1);
    CHECK(loaded.images[0].chunks[0].address == 0x1000);
    CHECK(loaded.images[0].chunks[0].bytes == code);
    CHECK(loaded.images[0].chunks[0].zero_fill == 0x2000 - 3);
    CHECK(loaded.images[0].entry == 0x1000);
}

TEST_CASE("an ELF larger than any guest memory loads when its segments fit", "[boot][images]")
{
    const SparseFile elf("huge.elf", 4ull << 30, elf_pieces(0x1000, {0xf4}, 0, 0x1000));
    const auto [text, seconds] = load("[machine]\nmemory = \"64K\"\n[[image]]\nfile = \"" + elf.path.string() +
                                      "\"\nformat = \"elf\"\n");
    CHECK(text == "");
    CHECK(seconds < 0.5);
}

TEST_CASE("an ELF segment outside RAM is refused before any segment is read", "[boot][images]")
{
    const SparseFile elf("outside.elf", 2ull << 30, elf_pieces(0x100000, {1, 2, 3}, 0x1000, 1ull << 30));
    const Loaded loaded =
        load_counting("[machine]\nmemory = \"64K\"\n[[image]]\nfile = \"" + elf.path.string() + "\"\n");
    CHECK(loaded.text == "m.toml:3:1: segment 0 of " + elf.path.string() +
                             " (4096 bytes at 0x100000) does not fit in guest RAM (0x10000 bytes at 0)");
    CHECK(loaded.seconds < 0.5);
    // The magic, the identification, the header and the one program header.
    CHECK(loaded.bytes_read == 4 + EI_NIDENT + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr));
}

TEST_CASE("a large multiboot ELF is read by its first 8 KiB, headers and PT_LOAD ranges", "[boot][images]")
{
    auto pieces = elf_pieces(0x100000, {0xf4}, 0, 1ull << 30);
    // A multiboot header (no flags) just after the program header.
    const uint32_t magic = 0x1BADB002, flags = 0, checksum = 0u - magic;
    std::vector<uint8_t> header(12);
    std::memcpy(header.data(), &magic, 4);
    std::memcpy(header.data() + 4, &flags, 4);
    std::memcpy(header.data() + 8, &checksum, 4);
    pieces.push_back({0x100, header});
    const SparseFile elf("multiboot.elf", 2ull << 30, pieces);
    const Loaded loaded = load_counting("[machine]\nmemory = \"2M\"\n[[image]]\nfile = \"" + elf.path.string() +
                                        "\"\nformat = \"multiboot\"\n");
    CHECK(loaded.text == "");
    CHECK(loaded.seconds < 0.5);
    CHECK(loaded.bytes_read < 16384);
    REQUIRE(loaded.images.size() == 1);
    REQUIRE(loaded.images[0].chunks.size() == 1);
    CHECK(loaded.images[0].chunks[0].bytes == std::vector<uint8_t>{0xf4});
}
