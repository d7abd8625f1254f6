#include "fw_cfg_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

namespace fwcfg {

std::vector<uint8_t> read_host_file(const std::filesystem::path &file, uint64_t limit)
{
    // O_NONBLOCK: a FIFO must not hang the VMM's start; it is refused below.
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        throw std::runtime_error("cannot open '" + file.string() + "': " + std::strerror(errno));
    struct stat st {};
    std::vector<uint8_t> bytes;
    try {
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
            throw std::runtime_error("'" + file.string() + "' is not a regular file");
        if (static_cast<uint64_t>(st.st_size) > limit)
            throw std::runtime_error("'" + file.string() + "' has " + std::to_string(st.st_size) +
                                     " bytes; a fw_cfg file has at most " + std::to_string(limit) +
                                     " (max_file_size)");
        bytes.resize(static_cast<std::size_t>(st.st_size));
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                throw std::runtime_error("cannot read '" + file.string() + "'");
            done += static_cast<std::size_t>(n);
        }
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    return bytes;
}

std::vector<NamedFile> collect_files(const std::vector<FileSlot> &slots, const std::filesystem::path &base_dir,
                                     uint64_t max_size, const HostFileReader &read)
{
    std::vector<NamedFile> files;
    std::set<std::string> names;
    for (std::size_t i = 0; i < slots.size(); ++i) {
        const FileSlot &slot = slots[i];
        const std::string prefix = "file" + std::to_string(i + 1);
        if (!slot.name) {
            if (slot.path || slot.text)
                throw std::runtime_error(prefix + (slot.path ? "_path" : "_text") + " needs " + prefix + "_name");
            continue;
        }
        if (const auto why = check_file_name(*slot.name))
            throw std::runtime_error(prefix + "_name '" + *slot.name + "': " + *why);
        if (!names.insert(*slot.name).second)
            throw std::runtime_error(prefix + "_name '" + *slot.name + "' names a file an earlier slot already adds");
        if (slot.path.has_value() == slot.text.has_value())
            throw std::runtime_error(prefix + "_name '" + *slot.name + "' needs exactly one of " + prefix + "_path and " +
                                     prefix + "_text");
        std::vector<uint8_t> bytes;
        if (slot.text) {
            if (slot.text->size() > max_size)
                throw std::runtime_error(prefix + "_text has " + std::to_string(slot.text->size()) +
                                         " bytes; a fw_cfg file has at most " + std::to_string(max_size) +
                                         " (max_file_size)");
            bytes.assign(slot.text->begin(), slot.text->end());
        } else {
            std::filesystem::path file(*slot.path);
            if (file.is_relative())
                file = base_dir / file;
            try {
                bytes = read(file, max_size);
            } catch (const std::exception &e) {
                throw std::runtime_error(prefix + "_path: " + e.what());
            }
        }
        files.push_back({*slot.name, Item::of(std::move(bytes))});
    }
    return files;
}

} // namespace fwcfg
