// [[image]]: guest images (flat, ELF, multiboot; RAM or ROM) and multiboot
// modules. Relative image paths are looked up next to the machine file first,
// then in the guest directories the caller gives (the build's or install's).

#include "config/machine_parser.hpp"
#include "support/paths.hpp"

#include <fmt/format.h>

namespace vmm {
namespace fs = std::filesystem;

void MachineParser::parse_images(TableReader &top)
{
    for_each_table(top.array("image"), "image", "([[image]])",
                   [&](const toml::table &table, const std::string &context, const toml::node &) {
                       parse_image(table, context);
                   });
}

void MachineParser::parse_image(const toml::table &table, const std::string &context)
{
    TableReader reader(table, context, diagnostics_);
    ImageSpec image;
    image.where = reader.where();
    image.file_where = reader.where("file");
    image.address_where = reader.where("address");
    if (auto type = reader.string("type")) {
        if (*type == "ram")
            image.type = ImageType::ram;
        else if (*type == "rom")
            image.type = ImageType::rom;
        else
            diagnostics_.error(reader.where("type"),
                               fmt::format("{}: unknown type \"{}\" (expected \"ram\" or \"rom\")", context, *type));
    }
    image.format = ImageFormat::automatic;
    if (auto format = reader.string("format")) {
        if (*format == "flat")
            image.format = ImageFormat::flat;
        else if (*format == "elf")
            image.format = ImageFormat::elf;
        else if (*format == "multiboot")
            image.format = ImageFormat::multiboot;
        else
            diagnostics_.error(reader.where("format"),
                               fmt::format("{}: unknown format \"{}\" (expected \"flat\", \"elf\" or "
                                           "\"multiboot\")",
                                           context, *format));
    }
    image.address = reader.unsigned_integer("address", image.format == ImageFormat::flat);
    image.entry = reader.unsigned_integer("entry");
    if (image.address && image.format != ImageFormat::flat && image.format != ImageFormat::automatic)
        diagnostics_.error(image.address_where,
                           fmt::format("{}: address is only for flat images (an ELF gives its own addresses)", context));
    if (image.type == ImageType::rom && image.format != ImageFormat::flat && image.format != ImageFormat::automatic)
        diagnostics_.error(reader.where("type"), fmt::format("{}: only flat images can be ROMs", context));
    if (image.type == ImageType::rom && image.address && *image.address % kPageSize != 0)
        diagnostics_.error(image.address_where,
                           fmt::format("{}: a ROM image must start on a 4 KiB boundary (address {:#x})", context,
                                       *image.address));
    if (auto file = reader.string("file", true)) {
        image.file_as_written = *file;
        image_origin_ = reader.where("file").file;
        if (file->find('\0') != std::string::npos) // the OS would see the name cut at the NUL
            diagnostics_.error(image.file_where,
                               fmt::format("{}: image file name \"{}\" contains a NUL character", context, *file));
        else if (auto resolved = resolve_image(*file))
            image.file = *resolved;
        else if (auto other = find_non_regular(*file))
            diagnostics_.error(image.file_where, fmt::format("{}: image file \"{}\" is {}, not a file ({})", context,
                                                             *file, other->second, other->first.string()));
        else
            diagnostics_.error(image.file_where, fmt::format("{}: image file \"{}\" not found (looked in {})",
                                                             context, *file, describe_image_dirs(*file)));
    }
    const bool multiboot = image.format == ImageFormat::multiboot;
    if (auto cmdline = reader.string("cmdline")) {
        if (!multiboot)
            diagnostics_.error(reader.where("cmdline"), context + ": cmdline is only for format = \"multiboot\"");
        image.cmdline = *cmdline;
    }
    if (const toml::array *modules = reader.array("modules")) {
        if (!multiboot)
            diagnostics_.error(reader.where("modules"), context + ": modules are only for format = \"multiboot\"");
        parse_modules(*modules, context, image);
    }
    reader.reject_unknown_keys();
    spec_.images.push_back(std::move(image));
}

void MachineParser::parse_modules(const toml::array &modules, const std::string &context, ImageSpec &image)
{
    for_each_table(&modules, context + ": modules", "such as { file = \"initrd\" }",
                   [&](const toml::table &table, const std::string &module_context, const toml::node &node) {
                       TableReader reader(table, module_context, diagnostics_);
                       ModuleSpec module;
                       module.where = location_of(node);
                       if (auto file = reader.string("file", true)) {
                           module.file_as_written = *file;
                           image_origin_ = reader.where("file").file;
                           if (file->find('\0') != std::string::npos)
                               diagnostics_.error(reader.where("file"),
                                                  fmt::format("{}: module file name \"{}\" contains a NUL character",
                                                              module_context, *file));
                           else if (auto resolved = resolve_image(*file))
                               module.file = *resolved;
                           else if (auto other = find_non_regular(*file))
                               diagnostics_.error(reader.where("file"),
                                                  fmt::format("{}: module file \"{}\" is {}, not a file ({})",
                                                              module_context, *file, other->second,
                                                              other->first.string()));
                           else
                               diagnostics_.error(reader.where("file"),
                                                  fmt::format("{}: module file \"{}\" not found (looked in {})",
                                                              module_context, *file, describe_image_dirs(*file)));
                       }
                       module.cmdline = reader.string("cmdline").value_or("");
                       reader.reject_unknown_keys();
                       image.modules.push_back(std::move(module));
                   });
}

std::vector<fs::path> MachineParser::image_dirs() const
{
    std::vector<fs::path> dirs;
    // Next to the file that names the image: the machine file, or the
    // profile it includes.
    fs::path own = fs::path(image_origin_.empty() ? source_name_ : image_origin_).parent_path();
    dirs.push_back(own.empty() ? fs::path(".") : own);
    dirs.insert(dirs.end(), guest_dirs_.begin(), guest_dirs_.end());
    return dirs;
}

std::optional<fs::path> MachineParser::resolve_image(const std::string &file) const
{
    std::error_code ec;
    const fs::path given(file);
    if (given.is_absolute())
        return fs::is_regular_file(given, ec) ? std::optional<fs::path>(given) : std::nullopt;
    for (const fs::path &dir : image_dirs()) {
        if (fs::is_regular_file(dir / given, ec))
            return dir / given;
    }
    return std::nullopt;
}

// Where resolve_image found no regular file: the first candidate that is
// something else (a directory, a FIFO, a device), and what it is.
std::optional<std::pair<fs::path, std::string>> MachineParser::find_non_regular(const std::string &file) const
{
    const fs::path given(file);
    std::vector<fs::path> candidates;
    if (given.is_absolute())
        candidates.push_back(given);
    else
        for (const fs::path &dir : image_dirs())
            candidates.push_back(dir / given);
    for (const fs::path &candidate : candidates) {
        if (auto kind = paths::non_regular_kind(candidate))
            return std::pair{candidate, *kind};
    }
    return std::nullopt;
}

std::string MachineParser::describe_image_dirs(const std::string &file) const
{
    if (fs::path(file).is_absolute())
        return "that absolute path";
    std::string text;
    for (const fs::path &dir : image_dirs())
        text += (text.empty() ? "" : ", ") + dir.string();
    return text;
}

} // namespace vmm
