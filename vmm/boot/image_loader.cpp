#include "boot/image_loader.hpp"

#include "boot/elf.hpp"
#include "boot/multiboot.hpp"
#include "support/errors.hpp"
#include "support/ranges.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace vmm {
namespace {

constexpr uint64_t kPageSize = 4096;

// The size of an image or module file, from stat: checked against where
// it goes before a byte is read (a 3 GiB sparse file for an 8 KiB machine
// must not be read whole to be refused).
uint64_t file_size_of(const std::filesystem::path &file, const SourceLocation &where)
{
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(file, ec);
    if (ec)
        throw InputError(where, fmt::format("cannot read {}: {}", file.string(), ec.message()));
    if (size == 0)
        throw InputError(where, fmt::format("{} is empty", file.string()));
    return size;
}

// A file loaded whole (a flat image, a module) cannot be larger than any
// guest memory. An ELF can: only its PT_LOAD ranges are read.
void check_loadable_whole(const std::filesystem::path &file, const SourceLocation &where, uint64_t size)
{
    if (size > kMaxMemorySize)
        throw InputError(where, fmt::format("{} is {} bytes, larger than any guest memory", file.string(), size));
}

// A file read piece by piece with pread(2).
class FileSource final : public ByteSource {
public:
    FileSource(int fd, uint64_t size) : fd_(fd), size_(size) {}
    FileSource(const FileSource &) = delete;
    FileSource &operator=(const FileSource &) = delete;
    ~FileSource() override { ::close(fd_); }

    uint64_t size() const override { return size_; }

    void read(uint64_t offset, std::span<uint8_t> out) const override
    {
        std::size_t done = 0;
        while (done < out.size()) {
            const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                throw ImageFormatError(fmt::format("cannot read {} bytes at offset {:#x}: {}", out.size(), offset,
                                                   n == 0 ? "the file ends before them" : std::strerror(errno)));
            done += static_cast<std::size_t>(n);
        }
    }

private:
    int fd_;
    uint64_t size_;
};

class ImageLoader {
public:
    ImageLoader(const ImageSpec &image, const MachineSpec &spec, const ImageOpener &open)
        : image_(image), spec_(spec), open_(open)
    {
    }

    LoadedImage load()
    {
        loaded_.spec = &image_;
        loaded_.type = image_.type;
        const uint64_t size = file_size_of(image_.file, image_.file_where);
        const std::unique_ptr<ByteSource> file = open(image_.file, image_.file_where);
        try {
            ImageFormat format = image_.format;
            if (format == ImageFormat::automatic)
                format = has_elf_magic(read_bytes(*file, 0, std::min<uint64_t>(file->size(), 4))) ? ImageFormat::elf
                                                                                                 : ImageFormat::flat;
            loaded_.format = format;
            if (format == ImageFormat::flat) {
                check_loadable_whole(image_.file, image_.file_where, size);
                // A flat RAM image is copied as is: its size is known from stat.
                if (image_.type == ImageType::ram && image_.address)
                    check_fits_ram(*image_.address, size, "image " + image_.file_as_written);
            }
            if (format == ImageFormat::multiboot)
                check_module_sizes();
            switch (format) {
            case ImageFormat::flat: load_flat(read_bytes(*file, 0, size)); break;
            case ImageFormat::elf: load_elf(*file); break;
            case ImageFormat::multiboot: load_multiboot(*file); break;
            case ImageFormat::automatic: break;
            }
        } catch (const ImageFormatError &e) {
            throw InputError(image_.file_where, fmt::format("{}: {}", image_.file_as_written, e.what()));
        }
        if (image_.entry)
            loaded_.entry = image_.entry;
        for (const ImageChunk &chunk : loaded_.chunks)
            check_fits_ram(chunk);
        return std::move(loaded_);
    }

private:
    std::unique_ptr<ByteSource> open(const std::filesystem::path &file, const SourceLocation &where) const
    {
        try {
            return open_(file);
        } catch (const std::exception &e) {
            throw InputError(where, fmt::format("cannot read {}: {}", file.string(), e.what()));
        }
    }

    void check_fits_ram(uint64_t address, uint64_t size, const std::string &what) const
    {
        if (!lies_within(address, size, 0, spec_.memory_size))
            throw InputError(image_.where, fmt::format("{} ({} bytes at {:#x}) does not fit in guest RAM ({:#x} bytes "
                                                       "at 0)",
                                                       what, size, address, spec_.memory_size));
    }

    void check_fits_ram(const ImageChunk &chunk) const { check_fits_ram(chunk.address, chunk.size(), chunk.what); }

    // Multiboot modules go into guest RAM whole: from their sizes (stat)
    // alone, refuse those that cannot fit before reading any.
    void check_module_sizes() const
    {
        uint64_t total = 0;
        for (const ModuleSpec &module : image_.modules) {
            const uint64_t size = file_size_of(module.file, module.where);
            check_loadable_whole(module.file, module.where, size);
            total += size;
            if (size > spec_.memory_size || total > spec_.memory_size)
                throw InputError(module.where,
                                 fmt::format("module {} ({} bytes{}) does not fit in guest RAM ({:#x} bytes)",
                                             module.file_as_written, size,
                                             total > size ? fmt::format(", {} with the modules before it", total)
                                                          : std::string(),
                                             spec_.memory_size));
        }
    }

    void load_flat(std::vector<uint8_t> bytes)
    {
        if (!image_.address)
            throw InputError(image_.where, fmt::format("{} is a flat image: give its load `address` (or use an ELF)",
                                                       image_.file_as_written));
        const uint64_t address = *image_.address;
        const uint64_t size = bytes.size();
        if (size - 1 > ~uint64_t{0} - address)
            throw InputError(image_.address_where, "image wraps around the end of the address space");
        loaded_.entry = address;
        if (image_.type == ImageType::rom) {
            loaded_.rom_address = address;
            loaded_.rom_size = (size + kPageSize - 1) / kPageSize * kPageSize;
            if (loaded_.rom_size - 1 > ~uint64_t{0} - address)
                throw InputError(image_.address_where, "ROM image wraps around the end of the address space");
            // Goes into its own ROM region, not into RAM.
            loaded_.rom_contents = ImageChunk{address, std::move(bytes), 0, "image " + image_.file_as_written};
            return;
        }
        loaded_.chunks.push_back(ImageChunk{address, std::move(bytes), 0, "image " + image_.file_as_written});
    }

    // Every PT_LOAD segment is checked against RAM before any is read; then
    // only their file ranges are read, never the rest of the file.
    void add_segments(const ByteSource &file, const ElfImage &elf)
    {
        auto what = [&](std::size_t index) { return fmt::format("segment {} of {}", index, image_.file_as_written); };
        for (std::size_t i = 0; i < elf.segments.size(); ++i)
            check_fits_ram(elf.segments[i].physical_address, elf.segments[i].memory_size, what(i));
        for (std::size_t i = 0; i < elf.segments.size(); ++i) {
            const ElfSegment &segment = elf.segments[i];
            ImageChunk chunk;
            chunk.address = segment.physical_address;
            chunk.bytes = read_bytes(file, segment.file_offset, segment.file_size);
            chunk.zero_fill = segment.memory_size - segment.file_size;
            chunk.what = what(i);
            loaded_.chunks.push_back(std::move(chunk));
        }
        loaded_.entry = elf.entry_physical;
    }

    void load_elf(const ByteSource &file) { add_segments(file, parse_elf(file)); }

    void load_multiboot(const ByteSource &file)
    {
        // The header lies in the first 8 KiB (its a.out fields may run 20 bytes further).
        const auto header = multiboot::find_header(
            read_bytes(file, 0, std::min<uint64_t>(file.size(), multiboot::kSearchLimit + 32)));
        if (!header)
            throw ImageFormatError("no multiboot header (magic 0x1badb002) in the first 8 KiB");
        loaded_.align_modules = (header->flags & multiboot::kFlagAlignModules) != 0;
        if (header->aout) {
            load_aout_kludge(file, *header);
        } else {
            const ElfImage elf = parse_elf(file);
            for (const ElfSegment &segment : elf.segments) {
                if (segment.physical_address + segment.memory_size > (uint64_t{1} << 32))
                    throw ImageFormatError(fmt::format("segment at {:#x} lies above 4 GiB, out of reach of a multiboot "
                                                       "kernel",
                                                       segment.physical_address));
            }
            add_segments(file, elf);
        }
        for (const ModuleSpec &module : image_.modules) {
            const uint64_t size = file_size_of(module.file, module.where);
            const std::unique_ptr<ByteSource> source = open(module.file, module.where);
            try {
                loaded_.modules.push_back(LoadedModule{&module, read_bytes(*source, 0, size)});
            } catch (const ImageFormatError &e) {
                throw InputError(module.where, fmt::format("module {}: {}", module.file_as_written, e.what()));
            }
        }
    }

    // Header flag 16: the header says where the file goes, for non-ELF kernels.
    void load_aout_kludge(const ByteSource &file, const multiboot::Header &header)
    {
        const multiboot::AoutAddresses &a = *header.aout;
        if (a.header_addr < a.load_addr || a.header_addr - a.load_addr > header.offset)
            throw ImageFormatError(fmt::format("multiboot header_addr {:#x} and load_addr {:#x} do not match the "
                                               "header's place in the file",
                                               a.header_addr, a.load_addr));
        const uint64_t file_start = header.offset - (a.header_addr - a.load_addr);
        const uint64_t available = file.size() - file_start;
        const uint64_t load_size = a.load_end_addr == 0 ? available : uint64_t{a.load_end_addr} - a.load_addr;
        if (a.load_end_addr != 0 && a.load_end_addr < a.load_addr)
            throw ImageFormatError("multiboot load_end_addr is below load_addr");
        if (load_size > available)
            throw ImageFormatError(fmt::format("truncated kernel: the multiboot header asks for {:#x} bytes from offset "
                                               "{:#x}, the file has {:#x}",
                                               load_size, file_start, available));
        const uint64_t load_end = uint64_t{a.load_addr} + load_size;
        if (a.bss_end_addr != 0 && a.bss_end_addr < load_end)
            throw ImageFormatError("multiboot bss_end_addr is below the end of the loaded image");
        ImageChunk chunk;
        chunk.address = a.load_addr;
        chunk.zero_fill = a.bss_end_addr == 0 ? 0 : a.bss_end_addr - load_end;
        chunk.what = "kernel " + image_.file_as_written;
        const uint64_t kernel_end = load_end + chunk.zero_fill;
        if (a.entry_addr < a.load_addr || a.entry_addr >= kernel_end)
            throw ImageFormatError(fmt::format("multiboot entry_addr {:#x} lies outside the loaded kernel", a.entry_addr));
        // Checked against RAM before its bytes are read.
        check_fits_ram(chunk.address, load_size + chunk.zero_fill, chunk.what);
        chunk.bytes = read_bytes(file, file_start, load_size);
        loaded_.chunks.push_back(std::move(chunk));
        loaded_.entry = a.entry_addr;
    }

    const ImageSpec &image_;
    const MachineSpec &spec_;
    const ImageOpener &open_;
    LoadedImage loaded_;
};

} // namespace

std::unique_ptr<ByteSource> open_image_file(const std::filesystem::path &file)
{
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw std::runtime_error(std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int error = errno;
        ::close(fd);
        throw std::runtime_error(std::strerror(error));
    }
    return std::make_unique<FileSource>(fd, static_cast<uint64_t>(st.st_size));
}

std::vector<LoadedImage> load_images(const MachineSpec &spec, const ImageOpener &open)
{
    std::vector<LoadedImage> images;
    std::vector<InputError> errors;
    for (const ImageSpec &image : spec.images) {
        try {
            images.push_back(ImageLoader(image, spec, open).load());
        } catch (const InputError &error) {
            errors.push_back(error);
        }
    }
    if (!errors.empty())
        throw InputErrors(std::move(errors));
    return images;
}

} // namespace vmm
