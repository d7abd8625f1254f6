#include "boot/image_loader.hpp"

#include "config/toml_reader.hpp"
#include "support/errors.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace vmm {
namespace {

constexpr uint64_t kPageSize = 4096;

std::vector<uint8_t> read_file(const ImageSpec &image)
{
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(image.file, ec);
    if (ec)
        throw InputError(image.file_where, fmt::format("cannot read image {}: {}", image.file.string(), ec.message()));
    if (size == 0)
        throw InputError(image.file_where, fmt::format("image {} is empty", image.file.string()));
    if (size > kMaxMemorySize)
        throw InputError(image.file_where,
                         fmt::format("image {} is {} bytes, larger than any guest memory", image.file.string(), size));
    std::ifstream in(image.file, std::ios::binary);
    std::vector<uint8_t> bytes(size);
    if (!in.read(reinterpret_cast<char *>(bytes.data()), static_cast<std::streamsize>(size)))
        throw InputError(image.file_where, fmt::format("cannot read image {}", image.file.string()));
    return bytes;
}

LoadedImage load_flat(const ImageSpec &image, const MachineSpec &spec)
{
    LoadedImage loaded;
    loaded.spec = &image;
    loaded.type = image.type;
    std::vector<uint8_t> bytes = read_file(image);
    const uint64_t address = image.address.value_or(0);
    const uint64_t size = bytes.size();
    if (address + size < address)
        throw InputError(image.address_where, "image wraps around the end of the address space");

    if (image.type == ImageType::ram) {
        if (address >= spec.memory_size || size > spec.memory_size - address)
            throw InputError(image.where,
                             fmt::format("image {} ({} bytes at {:#x}) does not fit in guest RAM ({:#x} bytes at 0)",
                                         image.file_as_written, size, address, spec.memory_size));
    } else {
        loaded.rom_address = address;
        loaded.rom_size = (size + kPageSize - 1) / kPageSize * kPageSize;
        if (address + loaded.rom_size < address)
            throw InputError(image.address_where, "ROM image wraps around the end of the address space");
    }
    loaded.entry = image.entry ? image.entry : std::optional<uint64_t>(address);
    loaded.chunks.push_back(ImageChunk{address, std::move(bytes)});
    return loaded;
}

} // namespace

std::vector<LoadedImage> load_images(const MachineSpec &spec)
{
    std::vector<LoadedImage> images;
    std::vector<InputError> errors;
    for (const ImageSpec &image : spec.images) {
        try {
            images.push_back(load_flat(image, spec));
        } catch (const InputError &error) {
            errors.push_back(error);
        }
    }
    if (!errors.empty())
        throw InputErrors(std::move(errors));
    return images;
}

} // namespace vmm
