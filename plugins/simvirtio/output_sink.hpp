// output_sink.hpp - where SIMVIRTIO's TX data goes: the `output` setting.
//
//   "stdout" (default)  the VMM's stdout, following it if it is redirected
//   "discard"           nowhere (benchmarks; the guest still sees it consumed)
//   "file:PATH"         a regular file (or a character device such as
//                       /dev/null), created or truncated at start
//   "unix:PATH"         a UNIX stream socket something listens on, connected
//                       at start
//
// Every descriptor is written through the SDK's BufferedOutput, which never
// blocks (a full pipe, a stopped terminal, a slow socket reader). The
// device asks room() before it consumes TX, so what the output cannot take
// yet stays in the guest's ring (the guest waits) rather than being dropped.
// A path that cannot be opened or connected is a configuration error,
// before the guest runs. Not thread-safe: the adapter's mutex serializes it.
#pragma once

#include "simvirtio_core.hpp"

#include <vmm/sdk.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace simvirtio_plugin {

class OutputSink final : public simvirtio::OutputSink {
public:
    // Room for a whole ring of the largest size, so that a reader that
    // keeps up never splits a batch.
    static constexpr std::size_t kCapacity = 128 * 1024;

    OutputSink(const vmm::sdk::Host &host, const std::string &setting) : host_(host)
    {
        if (setting == "stdout") {
            buffered_ = std::make_unique<vmm::sdk::BufferedOutput>(host_, "stdout", kCapacity);
            follow_stdout_ = true;
            follow_stdout();
        } else if (setting == "discard") {
            discard_ = true;
        } else if (setting.rfind("file:", 0) == 0 && setting.size() > 5) {
            file_ = vmm::sdk::open_output_file(setting.substr(5), "output");
            attach(fileno(file_.get()), "the output file");
        } else if (setting.rfind("unix:", 0) == 0 && setting.size() > 5) {
            fd_ = connect_socket(setting.substr(5));
            attach(fd_, "the output socket");
        } else {
            throw vmm::sdk::ConfigError("output must be \"stdout\", \"discard\", \"file:PATH\" or \"unix:PATH\", got \"" +
                                        setting + "\"");
        }
    }
    ~OutputSink() override
    {
        buffered_.reset(); // its last flush needs the descriptor
        if (fd_ >= 0)
            ::close(fd_);
    }
    OutputSink(const OutputSink &) = delete;
    OutputSink &operator=(const OutputSink &) = delete;

    void write(std::span<const uint8_t> bytes) override
    {
        if (follow_stdout_)
            follow_stdout();
        if (buffered_)
            buffered_->write(bytes.data(), bytes.size());
    }

    std::size_t room() override
    {
        if (discard_)
            return SIZE_MAX;
        if (follow_stdout_)
            follow_stdout();
        buffered_->flush(); // what waits goes out first, if the descriptor takes it now
        return buffered_->room();
    }

private:
    // Whatever descriptor 1 is at each write, as a plain write(1, ...)
    // would be (as the SDK's StdoutWriter does; tests redirect stdout after
    // devices exist). Its buffer is this sink's larger one.
    void follow_stdout()
    {
        struct stat st {};
        if (::fstat(STDOUT_FILENO, &st) != 0 || (stdout_known_ && st.st_dev == stdout_dev_ && st.st_ino == stdout_ino_))
            return;
        stdout_dev_ = st.st_dev;
        stdout_ino_ = st.st_ino;
        stdout_known_ = true;
        try {
            buffered_->attach(STDOUT_FILENO);
        } catch (const std::exception &e) {
            host_.error("cannot use stdout: %s", e.what());
        }
    }

    void attach(int fd, const char *what)
    {
        buffered_ = std::make_unique<vmm::sdk::BufferedOutput>(host_, what, kCapacity);
        try {
            buffered_->attach(fd);
        } catch (const std::exception &e) {
            throw vmm::sdk::ConfigError(std::string("output: ") + e.what());
        }
    }

    static int connect_socket(const std::string &path)
    {
        sockaddr_un address{};
        if (path.size() >= sizeof address.sun_path)
            throw vmm::sdk::ConfigError("output: the socket path is too long: '" + path + "'");
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            throw vmm::sdk::ConfigError(std::string("output: ") + std::strerror(errno));
        if (::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0) {
            const int error = errno;
            ::close(fd);
            throw vmm::sdk::ConfigError("output: cannot connect to '" + path + "': " + std::strerror(error));
        }
        return fd;
    }

    vmm::sdk::Host host_;
    bool discard_ = false;
    bool follow_stdout_ = false;
    bool stdout_known_ = false;
    dev_t stdout_dev_ = 0;
    ino_t stdout_ino_ = 0;
    vmm::sdk::OutputFile file_;
    int fd_ = -1;
    std::unique_ptr<vmm::sdk::BufferedOutput> buffered_;
};

} // namespace simvirtio_plugin
