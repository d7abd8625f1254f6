// Writing a device's output: to a file descriptor (stdout, a file, a pipe),
// or to a file a setting names.
#pragma once

#include <vmm/sdk/device.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace vmm::sdk {

// write(2) all of `bytes` to `fd`, retrying on short writes and on EINTR,
// which is routine inside a vmm: the core interrupts vCPU threads with a
// signal to pause or stop them, and a device callback on such a thread may
// be blocked in write() at that moment. Returns false (errno set; EIO when
// the descriptor took nothing) when the descriptor refuses the bytes.
inline bool write_all(int fd, const void *bytes, std::size_t size)
{
    const auto *cursor = static_cast<const uint8_t *>(bytes);
    while (size > 0) {
        const ssize_t written = ::write(fd, cursor, size);
        if (written > 0) {
            cursor += written;
            size -= static_cast<std::size_t>(written);
        } else if (written < 0 && errno == EINTR) {
            continue;
        } else {
            if (written == 0)
                errno = EIO;
            return false;
        }
    }
    return true;
}

// A device's output to stdout, unbuffered: each write(2) happens at once,
// so nothing is lost if the VMM dies right after. The first failure (a
// reader that went away, a full disk) is logged through the host and later
// output is dropped, so a dead descriptor is neither retried per byte nor
// reported per byte.
class StdoutWriter {
public:
    explicit StdoutWriter(const Host &host) : host_(host) {}
    void write(const void *bytes, std::size_t size)
    {
        if (failed_ || write_all(STDOUT_FILENO, bytes, size))
            return;
        failed_ = true;
        host_.error("cannot write to stdout (%s); further output is dropped", std::strerror(errno));
    }

private:
    Host host_;
    bool failed_ = false;
};

struct FileCloser {
    void operator()(std::FILE *file) const noexcept { std::fclose(file); }
};
using OutputFile = std::unique_ptr<std::FILE, FileCloser>;

// Opens (truncates) the file the setting `key` names, in create() so that
// an unwritable path is a configuration error before the guest runs:
// "<key>: cannot write '<path>': <reason>".
inline OutputFile open_output_file(const std::string &path, const char *key)
{
    OutputFile file(std::fopen(path.c_str(), "w"));
    if (file == nullptr)
        throw ConfigError(std::string(key) + ": cannot write '" + path + "': " + std::strerror(errno));
    return file;
}

} // namespace vmm::sdk
