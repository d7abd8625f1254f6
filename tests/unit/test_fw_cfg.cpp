// fw_cfg's register protocol, items, file settings and DMA, against a fake
// guest RAM (QEMU docs/specs/fw_cfg.rst).
#include "fw_cfg_device.hpp"
#include "fw_cfg_files.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace fwcfg;

namespace {

constexpr uint64_t kRam = 0x10000;

struct FakeRam final : GuestDma {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(kRam, 0xcc);
    std::vector<std::string> errors;
    int refused = 0;
    bool inside(uint64_t gpa, uint64_t size) const { return gpa <= kRam && size <= kRam - gpa; }
    bool read(uint64_t gpa, void *buffer, uint64_t size) override
    {
        if (!inside(gpa, size))
            return ++refused, false;
        std::memcpy(buffer, bytes.data() + gpa, size);
        return true;
    }
    bool write(uint64_t gpa, const void *buffer, uint64_t size) override
    {
        if (!inside(gpa, size))
            return ++refused, false;
        std::memcpy(bytes.data() + gpa, buffer, size);
        return true;
    }
    void log_error(const std::string &message) override { errors.push_back(message); }

    void put_be(uint64_t at, uint64_t value, int width)
    {
        for (int i = 0; i < width; ++i)
            bytes[at + i] = static_cast<uint8_t>(value >> (8 * (width - 1 - i)));
    }
    uint64_t get_be(uint64_t at, int width) const
    {
        uint64_t v = 0;
        for (int i = 0; i < width; ++i)
            v = v << 8 | bytes[at + i];
        return v;
    }
    void descriptor(uint64_t at, uint32_t control, uint32_t length, uint64_t address)
    {
        put_be(at, control, 4);
        put_be(at + 4, length, 4);
        put_be(at + 8, address, 8);
    }
};

struct Harness {
    ItemTable items;
    FakeRam ram;
    Device device{items, ram};

    Harness()
    {
        items.set(key::kSignature, Item::of({'Q', 'E', 'M', 'U'}));
        items.set(key::kId, Item::le32(kIdTraditional | kIdDma));
        items.set(key::kRamSize, Item::le64(0x12345678));
        items.set(key::kNbCpus, Item::le16(3));
        std::vector<NamedFile> files;
        files.push_back({"opt/zeta", Item::of({'z'})});
        files.push_back({"etc/alpha", Item::of({'a', 'b', 'c'})});
        items.set_files(std::move(files));
    }

    void select(uint16_t key)
    {
        const uint8_t bytes[2] = {static_cast<uint8_t>(key), static_cast<uint8_t>(key >> 8)};
        device.write(0, 0, bytes);
    }
    std::vector<uint8_t> data(std::size_t n)
    {
        std::vector<uint8_t> out(n);
        for (uint8_t &b : out) {
            uint8_t one[1];
            device.read(0, 1, one);
            b = one[0];
        }
        return out;
    }
    uint64_t data_le(std::size_t n)
    {
        uint64_t v = 0;
        const auto bytes = data(n);
        for (std::size_t i = 0; i < n; ++i)
            v |= uint64_t{bytes[i]} << (8 * i);
        return v;
    }
    // The DMA address as a guest writes it: big-endian halves, high first.
    void dma(uint64_t descriptor)
    {
        const auto half = [](uint32_t v) {
            return std::array<uint8_t, 4>{static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                                          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
        };
        device.write(1, 0, half(static_cast<uint32_t>(descriptor >> 32)));
        device.write(1, 4, half(static_cast<uint32_t>(descriptor)));
    }
};

std::vector<uint8_t> bytes_of(const std::string &s) { return {s.begin(), s.end()}; }

} // namespace

TEST_CASE("fw_cfg: signature, ID and numbers through the data port", "[fw_cfg]")
{
    Harness h;
    h.select(key::kSignature);
    CHECK(h.data(4) == bytes_of("QEMU"));
    CHECK(h.data(2) == std::vector<uint8_t>{0, 0}); // past the end: zeros
    h.select(key::kId);
    CHECK(h.data_le(4) == 3);
    h.select(key::kRamSize);
    CHECK(h.data_le(8) == 0x12345678);
    h.select(key::kNbCpus);
    CHECK(h.data_le(2) == 3);
    // Selecting again starts the item over.
    h.select(key::kNbCpus);
    CHECK(h.data_le(2) == 3);
    // An unknown key, an architecture key, and the write bit's obsolete channel.
    h.select(0x3ff0);
    CHECK(h.data(4) == std::vector<uint8_t>(4, 0));
    h.select(key::kArchLocal | key::kRamSize);
    CHECK(h.data(2) == std::vector<uint8_t>(2, 0));
    h.select(key::kWrite | key::kNbCpus);
    CHECK(h.data_le(2) == 3);
}

TEST_CASE("fw_cfg: writes other than a 16-bit selector change nothing", "[fw_cfg]")
{
    Harness h;
    h.select(key::kSignature);
    CHECK(h.data(1) == bytes_of("Q"));
    const uint8_t one[1] = {key::kId};
    h.device.write(0, 0, one);  // 8-bit selector write: ignored
    h.device.write(0, 1, one);  // the data port: ignored
    CHECK(h.data(3) == bytes_of("EMU"));
    uint8_t wide[4];
    h.select(key::kSignature);
    h.device.read(0, 1, wide); // a wide read of the data port: successive bytes
    CHECK(std::vector<uint8_t>(wide, wide + 4) == bytes_of("QEMU"));
}

TEST_CASE("fw_cfg: the file directory lists files sorted, big-endian, and each reads by its key", "[fw_cfg]")
{
    Harness h;
    h.select(key::kFileDir);
    const auto count = h.data(4);
    CHECK(count == std::vector<uint8_t>{0, 0, 0, 2});
    const auto first = h.data(64);
    const auto second = h.data(64);
    CHECK((first[0] << 24 | first[1] << 16 | first[2] << 8 | first[3]) == 3);
    CHECK((first[4] << 8 | first[5]) == key::kFileFirst);
    CHECK(std::string(reinterpret_cast<const char *>(&first[8])) == "etc/alpha");
    CHECK((second[4] << 8 | second[5]) == key::kFileFirst + 1);
    CHECK(std::string(reinterpret_cast<const char *>(&second[8])) == "opt/zeta");
    h.select(key::kFileFirst);
    CHECK(h.data(3) == bytes_of("abc"));
    h.select(key::kFileFirst + 1);
    CHECK(h.data(1) == bytes_of("z"));
}

TEST_CASE("fw_cfg: DMA select and read, then a read past the end fills zeros", "[fw_cfg][dma]")
{
    Harness h;
    h.ram.descriptor(0x100, (uint32_t{key::kFileFirst} << 16) | dma::kSelect | dma::kRead, 2, 0x200);
    h.dma(0x100);
    CHECK(h.ram.get_be(0x100, 4) == 0); // done, no error
    CHECK(h.ram.bytes[0x200] == 'a');
    CHECK(h.ram.bytes[0x201] == 'b');
    CHECK(h.ram.bytes[0x202] == 0xcc); // untouched
    // The offset moved: the next DMA read continues, then zeros past the end.
    h.ram.descriptor(0x100, dma::kRead, 4, 0x300);
    h.dma(0x100);
    CHECK(h.ram.get_be(0x100, 4) == 0);
    CHECK(std::vector<uint8_t>(&h.ram.bytes[0x300], &h.ram.bytes[0x305]) ==
          std::vector<uint8_t>{'c', 0, 0, 0, 0xcc});
    CHECK(h.ram.errors.empty());
}

TEST_CASE("fw_cfg: DMA skip moves the offset, and a write is refused with the error bit", "[fw_cfg][dma]")
{
    Harness h;
    h.ram.descriptor(0x100, (uint32_t{key::kSignature} << 16) | dma::kSelect | dma::kSkip, 2, 0);
    h.dma(0x100);
    CHECK(h.ram.get_be(0x100, 4) == 0);
    CHECK(h.data(2) == bytes_of("MU"));
    h.ram.descriptor(0x100, dma::kWrite, 4, 0x200);
    h.dma(0x100);
    CHECK(h.ram.get_be(0x100, 4) == dma::kError);
    CHECK(h.ram.errors.size() == 1);
}

TEST_CASE("fw_cfg: DMA outside guest RAM sets the error bit and touches nothing outside", "[fw_cfg][dma]")
{
    Harness h;
    SECTION("the buffer")
    {
        h.ram.descriptor(0x100, (uint32_t{key::kSignature} << 16) | dma::kSelect | dma::kRead, 4, kRam - 2);
        h.dma(0x100);
        CHECK(h.ram.get_be(0x100, 4) == dma::kError);
        CHECK(h.ram.bytes[kRam - 2] == 0xcc); // nothing partly written
    }
    SECTION("a length that wraps around")
    {
        h.ram.descriptor(0x100, (uint32_t{key::kSignature} << 16) | dma::kSelect | dma::kRead, 0x10,
                         0xfffffffffffffff8ull);
        h.dma(0x100);
        CHECK(h.ram.get_be(0x100, 4) == dma::kError);
    }
    SECTION("a huge length beyond RAM")
    {
        h.ram.descriptor(0x100, (uint32_t{key::kSignature} << 16) | dma::kSelect | dma::kRead, 0xffffffffu, 0x1000);
        h.dma(0x100);
        CHECK(h.ram.get_be(0x100, 4) == dma::kError);
    }
    SECTION("the descriptor itself")
    {
        CHECK(h.device.run_dma(kRam - 8) == dma::kError);
        CHECK(h.device.run_dma(0xfffffffffffffff8ull) == dma::kError);
        CHECK(h.ram.refused >= 2);
    }
    CHECK_FALSE(h.ram.errors.empty());
}

TEST_CASE("fw_cfg: the DMA register reads as QEMU CFG, and a 64-bit address write also starts DMA", "[fw_cfg][dma]")
{
    Harness h;
    uint8_t sig[8];
    h.device.read(1, 0, sig);
    CHECK(std::string(reinterpret_cast<char *>(sig), 8) == "QEMU CFG");
    h.ram.descriptor(0x100, (uint32_t{key::kId} << 16) | dma::kSelect | dma::kRead, 4, 0x200);
    const uint8_t address[8] = {0, 0, 0, 0, 0, 0, 0x01, 0x00};
    h.device.write(1, 0, address);
    CHECK(h.ram.get_be(0x100, 4) == 0);
    CHECK(h.ram.bytes[0x200] == 3);
}

TEST_CASE("fw_cfg: state is the selector, the offset and the DMA high half", "[fw_cfg]")
{
    Harness h;
    h.select(key::kSignature);
    h.data(2);
    const State saved = h.device.state();
    Harness other;
    other.device.set_state(saved);
    CHECK(other.data(2) == bytes_of("MU"));
}

TEST_CASE("fw_cfg: file settings are checked", "[fw_cfg][settings]")
{
    vmm::test::TempDir dir("fwcfg");
    std::ofstream(dir.path / "blob.bin") << "hello";
    const auto slots = [](std::optional<std::string> name, std::optional<std::string> path,
                          std::optional<std::string> text) {
        return std::vector<FileSlot>{FileSlot{std::move(name), std::move(path), std::move(text)}};
    };
    const auto error = [&](const std::vector<FileSlot> &s) {
        try {
            collect_files(s, dir.path);
        } catch (const std::runtime_error &e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const auto files = collect_files(slots("opt/blob", "blob.bin", std::nullopt), dir.path);
    REQUIRE(files.size() == 1);
    CHECK(files[0].item.bytes == bytes_of("hello"));
    CHECK(collect_files(slots("opt/t", std::nullopt, "inline"), dir.path)[0].item.bytes == bytes_of("inline"));

    CHECK_THAT(error(slots("opt/x", "missing.bin", std::nullopt)),
               Catch::StartsWith("file1_path: cannot open '" + (dir.path / "missing.bin").string() + "'"));
    CHECK(error(slots("opt/x", (dir.path).string(), std::nullopt)) ==
          "file1_path: '" + dir.path.string() + "' is not a regular file");
    CHECK(error(slots(std::string(56, 'a'), std::nullopt, "x")) ==
          "file1_name '" + std::string(56, 'a') + "': a file name has at most 55 bytes, this one 56");
    CHECK(error(slots("opt/with space", std::nullopt, "x")) ==
          "file1_name 'opt/with space': a file name is printable ASCII without spaces");
    CHECK(error(slots("opt/x", "blob.bin", "x")) == "file1_name 'opt/x' needs exactly one of file1_path and file1_text");
    CHECK(error(slots(std::nullopt, "blob.bin", std::nullopt)) == "file1_path needs file1_name");
    CHECK(error({FileSlot{"opt/x", std::nullopt, "1"}, FileSlot{"opt/x", std::nullopt, "2"}}) ==
          "file2_name 'opt/x' names a file an earlier slot already adds");

    std::filesystem::resize_file(dir.path / "blob.bin", kDefaultMaxFileSize + 1); // sparse: costs nothing
    CHECK(error(slots("opt/big", "blob.bin", std::nullopt)) ==
          "file1_path: '" + (dir.path / "blob.bin").string() +
              "' has 16777217 bytes; a fw_cfg file has at most 16777216 (max_file_size)");
    CHECK(collect_files(slots("opt/t", std::nullopt, "12345"), dir.path, 5)[0].item.bytes == bytes_of("12345"));
    CHECK_THROWS_WITH(collect_files(slots("opt/t", std::nullopt, "123456"), dir.path, 5),
                      "file1_text has 6 bytes; a fw_cfg file has at most 5 (max_file_size)");
}
