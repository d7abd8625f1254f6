#include "boot/image_loader.hpp"

#include "boot/elf.hpp"
#include "boot/multiboot.hpp"
#include "support/errors.hpp"
#include "support/ranges.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

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
    if (size > kMaxMemorySize)
        throw InputError(where, fmt::format("{} is {} bytes, larger than any guest memory", file.string(), size));
    return size;
}

std::vector<uint8_t> read_file(const std::filesystem::path &file, const SourceLocation &where, uint64_t size)
{
    std::ifstream in(file, std::ios::binary);
    std::vector<uint8_t> bytes(size);
    if (!in.read(reinterpret_cast<char *>(bytes.data()), static_cast<std::streamsize>(size)))
        throw InputError(where, fmt::format("cannot read {}", file.string()));
    return bytes;
}

// Whether the file starts with the ELF magic (read without the rest).
bool file_has_elf_magic(const std::filesystem::path &file)
{
    std::ifstream in(file, std::ios::binary);
    std::vector<uint8_t> head(4);
    return in.read(reinterpret_cast<char *>(head.data()), 4) && has_elf_magic(head);
}

class ImageLoader {
public:
    ImageLoader(const ImageSpec &image, const MachineSpec &spec) : image_(image), spec_(spec) {}

    LoadedImage load()
    {
        loaded_.spec = &image_;
        loaded_.type = image_.type;
        const uint64_t size = file_size_of(image_.file, image_.file_where);
        ImageFormat format = image_.format;
        if (format == ImageFormat::automatic)
            format = file_has_elf_magic(image_.file) ? ImageFormat::elf : ImageFormat::flat;
        loaded_.format = format;
        // A flat RAM image is copied as is: its size is known from stat.
        if (format == ImageFormat::flat && image_.type == ImageType::ram && image_.address)
            check_fits_ram(ImageChunk{*image_.address, {}, size, "image " + image_.file_as_written});
        if (format == ImageFormat::multiboot)
            check_module_sizes();
        std::vector<uint8_t> bytes = read_file(image_.file, image_.file_where, size);
        try {
            switch (format) {
            case ImageFormat::flat: load_flat(std::move(bytes)); break;
            case ImageFormat::elf: load_elf(bytes); break;
            case ImageFormat::multiboot: load_multiboot(bytes); break;
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
    void check_fits_ram(const ImageChunk &chunk) const
    {
        if (!lies_within(chunk.address, chunk.size(), 0, spec_.memory_size))
            throw InputError(image_.where,
                             fmt::format("{} ({} bytes at {:#x}) does not fit in guest RAM ({:#x} bytes at 0)",
                                         chunk.what, chunk.size(), chunk.address, spec_.memory_size));
    }

    // Multiboot modules go into guest RAM whole: from their sizes (stat)
    // alone, refuse those that cannot fit before reading any.
    void check_module_sizes() const
    {
        uint64_t total = 0;
        for (const ModuleSpec &module : image_.modules) {
            const uint64_t size = file_size_of(module.file, module.where);
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

    void add_segments(const std::vector<uint8_t> &bytes, const ElfImage &elf)
    {
        std::size_t index = 0;
        for (const ElfSegment &segment : elf.segments) {
            ImageChunk chunk;
            chunk.address = segment.physical_address;
            chunk.bytes.assign(bytes.begin() + static_cast<std::ptrdiff_t>(segment.file_offset),
                               bytes.begin() + static_cast<std::ptrdiff_t>(segment.file_offset + segment.file_size));
            chunk.zero_fill = segment.memory_size - segment.file_size;
            chunk.what = fmt::format("segment {} of {}", index++, image_.file_as_written);
            loaded_.chunks.push_back(std::move(chunk));
        }
        loaded_.entry = elf.entry_physical;
    }

    void load_elf(const std::vector<uint8_t> &bytes) { add_segments(bytes, parse_elf(bytes)); }

    void load_multiboot(const std::vector<uint8_t> &bytes)
    {
        const auto header = multiboot::find_header(bytes);
        if (!header)
            throw ImageFormatError("no multiboot header (magic 0x1badb002) in the first 8 KiB");
        loaded_.align_modules = (header->flags & multiboot::kFlagAlignModules) != 0;
        if (header->aout) {
            load_aout_kludge(bytes, *header);
        } else {
            const ElfImage elf = parse_elf(bytes);
            for (const ElfSegment &segment : elf.segments) {
                if (segment.physical_address + segment.memory_size > (uint64_t{1} << 32))
                    throw ImageFormatError(fmt::format("segment at {:#x} lies above 4 GiB, out of reach of a multiboot "
                                                       "kernel",
                                                       segment.physical_address));
            }
            add_segments(bytes, elf);
        }
        for (const ModuleSpec &module : image_.modules)
            loaded_.modules.push_back(
                LoadedModule{&module, read_file(module.file, module.where, file_size_of(module.file, module.where))});
    }

    // Header flag 16: the header says where the file goes, for non-ELF kernels.
    void load_aout_kludge(const std::vector<uint8_t> &bytes, const multiboot::Header &header)
    {
        const multiboot::AoutAddresses &a = *header.aout;
        if (a.header_addr < a.load_addr || a.header_addr - a.load_addr > header.offset)
            throw ImageFormatError(fmt::format("multiboot header_addr {:#x} and load_addr {:#x} do not match the "
                                               "header's place in the file",
                                               a.header_addr, a.load_addr));
        const uint64_t file_start = header.offset - (a.header_addr - a.load_addr);
        const uint64_t available = bytes.size() - file_start;
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
        chunk.bytes.assign(bytes.begin() + static_cast<std::ptrdiff_t>(file_start),
                           bytes.begin() + static_cast<std::ptrdiff_t>(file_start + load_size));
        chunk.zero_fill = a.bss_end_addr == 0 ? 0 : a.bss_end_addr - load_end;
        chunk.what = "kernel " + image_.file_as_written;
        const uint64_t kernel_end = chunk.end();
        loaded_.chunks.push_back(std::move(chunk));
        if (a.entry_addr < a.load_addr || a.entry_addr >= kernel_end)
            throw ImageFormatError(fmt::format("multiboot entry_addr {:#x} lies outside the loaded kernel", a.entry_addr));
        loaded_.entry = a.entry_addr;
    }

    const ImageSpec &image_;
    const MachineSpec &spec_;
    LoadedImage loaded_;
};

} // namespace

std::vector<LoadedImage> load_images(const MachineSpec &spec)
{
    std::vector<LoadedImage> images;
    std::vector<InputError> errors;
    for (const ImageSpec &image : spec.images) {
        try {
            images.push_back(ImageLoader(image, spec).load());
        } catch (const InputError &error) {
            errors.push_back(error);
        }
    }
    if (!errors.empty())
        throw InputErrors(std::move(errors));
    return images;
}

} // namespace vmm
