// Writing a device's output without ever blocking a vCPU: to stdout, a
// file, a pipe, a terminal or a socket, or to a file a setting names.
//
// A device's write() runs on a vCPU thread. A blocking write(2) to a pipe
// nobody reads, or to a terminal stopped with Ctrl-S, would hold that vCPU
// (and a hot swap waiting for it) for ever. So output goes through a
// bounded buffer drained with non-blocking writes only:
//  - pipes, FIFOs and terminals: the descriptor is reopened through
//    /proc/self/fd/N with O_NONBLOCK. That makes a new open file
//    description: the flags of the one we inherited (say, the user's shell
//    terminal, shared with the shell) are left alone;
//  - sockets: send(MSG_DONTWAIT | MSG_NOSIGNAL) on a dup;
//  - regular files (and block devices): plain write(2), which does not wait
//    for a reader.
// What the descriptor does not take at once waits in the buffer and is
// written on the next write or flush, or when the descriptor becomes
// writable (an FdWatch, when the device gives a Runtime). What does not fit
// in the buffer is dropped and counted: logged once when it starts, and the
// total when the writer goes away. Nothing waits at destruction either.
#pragma once

#include <vmm/sdk/device.hpp>
#include <vmm/sdk/output_fd.hpp>
#include <vmm/sdk/runtime.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vmm::sdk {

// write(2) all of `bytes` to `fd`, retrying on short writes and on EINTR.
// It blocks when the descriptor does: devices use BufferedOutput instead;
// this stays for tools and tests. Returns false (errno set; EIO when the
// descriptor took nothing) when the descriptor refuses the bytes.
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

// A bounded, non-blocking output buffer in front of one descriptor.
// Not thread-safe: use it from the device's own (serialized) calls.
class BufferedOutput {
public:
    static constexpr std::size_t kDefaultCapacity = 16 * 1024;

    // `what` names the output in log lines ("stdout", "the socket"...).
    explicit BufferedOutput(const Host &host, std::string what = "the output",
                            std::size_t capacity = kDefaultCapacity)
        : host_(host), what_(std::move(what)), capacity_(capacity)
    {
    }
    ~BufferedOutput()
    {
        watch_.reset(); // the host refuses new watches from destroy on
        runtime_.reset();
        flush(); // one last try, without waiting
        const uint64_t lost = dropped_ + buffer_.size();
        if (lost > 0)
            host_.warn("%llu bytes of output to %s were dropped (it did not keep up)",
                       static_cast<unsigned long long>(lost), what_.c_str());
    }
    BufferedOutput(const BufferedOutput &) = delete;
    BufferedOutput &operator=(const BufferedOutput &) = delete;

    // Write to `fd` from now on (the caller keeps owning it; this object
    // works on its own non-blocking copy). Bytes still buffered go there.
    // Throws std::system_error when no copy can be made.
    void attach(int fd)
    {
        detach();
        fd_ = OutputFd(fd);
        failed_ = false;
        rewatch();
        flush();
    }
    // No descriptor for now: bytes wait in the buffer (up to its capacity),
    // for the next attach (a socket client that comes back).
    void detach()
    {
        watch_.reset();
        fd_ = OutputFd();
    }
    bool attached() const noexcept { return fd_.valid(); }

    // With a runtime, a full descriptor is drained when it becomes writable,
    // then `drained` runs (the UART raises THRE). Call from realize().
    void use_runtime(const Runtime &runtime, std::function<void()> drained)
    {
        runtime_ = runtime;
        drained_ = std::move(drained);
        rewatch();
    }

    // Bytes that fit now without dropping any.
    std::size_t room() const noexcept
    {
        if (failed_)
            return capacity_; // a dead descriptor takes (and drops) everything
        return buffer_.size() >= capacity_ ? 0 : capacity_ - buffer_.size();
    }
    bool empty() const noexcept { return buffer_.empty(); }
    uint64_t dropped() const noexcept { return dropped_; }

    // Queue `bytes` and write what the descriptor takes now. Returns how
    // many were accepted; the rest is dropped and counted.
    std::size_t write(const void *bytes, std::size_t size)
    {
        const auto *data = static_cast<const uint8_t *>(bytes);
        if (failed_) {
            dropped_ += size;
            return 0;
        }
        if (!buffer_.empty())
            flush(); // older bytes first, and as soon as the descriptor takes them
        std::size_t done = 0;
        if (buffer_.empty() && fd_.valid()) {
            // The common case: nothing waiting, write straight through.
            done = put(data, size);
            if (failed_) {
                dropped_ += size - done;
                return done;
            }
        }
        const std::size_t accepted = std::min(size - done, room());
        buffer_.insert(buffer_.end(), data + done, data + done + accepted);
        if (done + accepted < size) {
            if (dropped_ == 0)
                host_.warn("%s is not keeping up: output dropped (the total is logged at the end)", what_.c_str());
            dropped_ += size - done - accepted;
        }
        rewatch();
        return done + accepted;
    }

    // Write what the descriptor takes now. True when nothing is left.
    bool flush()
    {
        if (!buffer_.empty() && fd_.valid() && !failed_) {
            const std::size_t done = put(buffer_.data(), buffer_.size());
            buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(done));
            if (failed_) {
                dropped_ += buffer_.size();
                buffer_.clear();
            }
        }
        rewatch();
        return buffer_.empty();
    }

    // Take the bytes not written yet, e.g. into a device's saved state.
    std::vector<uint8_t> take()
    {
        std::vector<uint8_t> out;
        out.swap(buffer_);
        rewatch();
        return out;
    }

    // With `reconnectable`, a write error (the peer went away) detaches
    // instead of failing for good, and `lost` runs; bytes wait for the next
    // attach. Without it, the first error is logged and later output dropped.
    void set_reconnectable(std::function<void()> lost) { lost_ = std::move(lost); }

private:
    // Write from `data` what the descriptor takes without blocking.
    std::size_t put(const uint8_t *data, std::size_t size)
    {
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = fd_.write_some(data + done, size - done);
            if (n > 0) {
                done += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue; // the core kicks vCPU threads with a signal
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            fail(n == 0 ? EIO : errno);
            break;
        }
        return done;
    }

    void fail(int error)
    {
        if (lost_) {
            host_.info("%s went away (%s); output waits for the next one", what_.c_str(), std::strerror(error));
            detach();
            lost_();
            return;
        }
        failed_ = true;
        watch_.reset();
        host_.error("cannot write to %s (%s); further output is dropped", what_.c_str(), std::strerror(error));
    }

    // Watch for "writable" exactly while bytes wait and a runtime exists.
    void rewatch()
    {
        const bool want = runtime_ && fd_.valid() && !failed_ && !buffer_.empty();
        if (want && !watch_) {
            try {
                watch_ = runtime_->watch(fd_.get(), VMM_FD_WRITABLE, [this](uint32_t) { on_writable(); });
                watching_ = true;
            } catch (const RuntimeError &e) {
                // Without the watch, the next write or flush drains instead.
                host_.debug("no writable watch on %s: %s", what_.c_str(), e.what());
                runtime_.reset();
            }
            return;
        }
        if (watch_ && want != watching_) {
            watch_->update(want ? VMM_FD_WRITABLE : 0u);
            watching_ = want;
        }
    }

    void on_writable()
    {
        flush();
        if (buffer_.empty() && drained_)
            drained_();
    }

    Host host_;
    std::string what_;
    std::size_t capacity_;
    OutputFd fd_;
    std::vector<uint8_t> buffer_;
    uint64_t dropped_ = 0;
    bool failed_ = false;
    std::optional<Runtime> runtime_;
    std::optional<FdWatch> watch_;
    bool watching_ = false;
    std::function<void()> drained_;
    std::function<void()> lost_;
};

// A device's output to stdout (console, simvirtio, hypercall...): never
// blocks, even on a full pipe or a stopped terminal (see BufferedOutput).
// Bytes go out at once whenever stdout takes them. The first failure (a
// reader that went away) is logged once and later output dropped. It
// follows whatever descriptor 1 is at each write (an fstat), as a plain
// write(1, ...) would: tests redirect stdout after devices exist.
class StdoutWriter {
public:
    explicit StdoutWriter(const Host &host) : host_(host), output_(host, "stdout") { follow_stdout(); }
    void write(const void *bytes, std::size_t size)
    {
        follow_stdout();
        output_.write(bytes, size);
    }
    BufferedOutput &output() noexcept { return output_; }

private:
    void follow_stdout()
    {
        struct stat st {};
        if (::fstat(STDOUT_FILENO, &st) != 0 || (attached_ && st.st_dev == dev_ && st.st_ino == ino_))
            return;
        dev_ = st.st_dev;
        ino_ = st.st_ino;
        attached_ = true;
        try {
            output_.attach(STDOUT_FILENO);
        } catch (const std::exception &e) {
            host_.error("cannot use stdout: %s", e.what());
        }
    }

    Host host_;
    BufferedOutput output_;
    bool attached_ = false;
    dev_t dev_ = 0;
    ino_t ino_ = 0;
};

struct FileCloser {
    void operator()(std::FILE *file) const noexcept { std::fclose(file); }
};
using OutputFile = std::unique_ptr<std::FILE, FileCloser>;

// Opens (truncates) the file the setting `key` names, in create() so that
// an unwritable path is a configuration error before the guest runs:
// "<key>: cannot write '<path>': <reason>". Such files are written whole at
// the end, so they must be files: a FIFO (whose open() would block until a
// reader came, and whose writes would block a stop), a socket or a
// directory is refused: "<key>: '<path>' is a FIFO (named pipe), not a
// regular file". A character device (/dev/null) is accepted, opened
// without blocking.
inline OutputFile open_output_file(const std::string &path, const char *key)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
        const char *kind = S_ISFIFO(st.st_mode)   ? "a FIFO (named pipe)"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                           : S_ISDIR(st.st_mode)  ? "a directory"
                           : S_ISBLK(st.st_mode)  ? "a block device"
                                                  : "not a file";
        throw ConfigError(std::string(key) + ": '" + path + "' is " + kind + ", not a regular file");
    }
    // O_NONBLOCK: should a FIFO appear after the check, open() fails
    // (ENXIO) rather than waiting for a reader.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0644);
    if (fd < 0)
        throw ConfigError(std::string(key) + ": cannot write '" + path + "': " + std::strerror(errno));
    OutputFile file(::fdopen(fd, "w"));
    if (file == nullptr) {
        const int error = errno;
        ::close(fd);
        throw ConfigError(std::string(key) + ": cannot write '" + path + "': " + std::strerror(error));
    }
    return file;
}

} // namespace vmm::sdk
