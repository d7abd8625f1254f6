// output_sink.hpp - where SIMVIRTIO's TX data goes: the `output` setting.
//
//   "stdout" (default)  the VMM's stdout, following it if it is redirected
//   "discard"           nowhere (benchmarks; the guest still sees it consumed)
//   "file:PATH"         a regular file (or a character device such as
//                       /dev/null), created or truncated at start
//   "unix:PATH"         a UNIX stream socket something listens on, connected
//                       at start
//
// Every descriptor is written through the SDK's non-blocking OutputFd (the
// layer under BufferedOutput: pipes and terminals through an O_NONBLOCK
// open file description of their own, sockets with MSG_DONTWAIT), so a
// full pipe, a stopped terminal or a slow socket reader never blocks a
// vCPU. Unlike BufferedOutput it keeps no buffer of its own: write()
// returns what the descriptor took now and the device leaves the rest in
// the guest's TX ring, which is the buffer. So nothing is dropped, the
// guest waits for a slow reader, and TX tail == head still means "written".
// (A host-side buffer would need a flush from the event loop, which runs
// outside this thread-safe device's lock.) A path that cannot be opened or
// connected is a configuration error, before the guest runs. The first
// write error (a reader gone) is logged once; from then on output is
// dropped and TX still consumed, so the guest does not stall.
// Not thread-safe: the adapter's mutex serializes it.
#pragma once

#include "simvirtio_core.hpp"

#include <vmm/sdk.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace simvirtio_plugin {

class OutputSink final : public simvirtio::OutputSink {
public:
    OutputSink(const vmm::sdk::Host &host, const std::string &setting) : host_(host)
    {
        if (setting == "stdout") {
            what_ = "stdout";
            follow_stdout_ = true;
            follow_stdout();
        } else if (setting == "discard") {
            discard_ = true;
        } else if (setting.rfind("file:", 0) == 0 && setting.size() > 5) {
            what_ = "the output file";
            file_ = vmm::sdk::open_output_file(setting.substr(5), "output");
            attach(fileno(file_.get()));
        } else if (setting.rfind("unix:", 0) == 0 && setting.size() > 5) {
            what_ = "the output socket";
            const int fd = connect_socket(setting.substr(5));
            attach(fd);
            ::close(fd); // OutputFd works on its own copy
        } else {
            throw vmm::sdk::ConfigError("output must be \"stdout\", \"discard\", \"file:PATH\" or \"unix:PATH\", got \"" +
                                        setting + "\"");
        }
    }

    std::size_t write(std::span<const uint8_t> bytes) override
    {
        if (discard_ || failed_)
            return bytes.size();
        if (follow_stdout_)
            follow_stdout();
        if (!fd_.valid())
            return bytes.size();
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = fd_.write_some(bytes.data() + done, bytes.size() - done);
            if (n > 0) {
                done += static_cast<std::size_t>(n);
            } else if (n < 0 && errno == EINTR) {
                continue; // the core kicks vCPU threads with a signal
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break; // the rest waits on TX
            } else {
                failed_ = true;
                host_.error("cannot write to %s (%s); further output is dropped", what_,
                            std::strerror(n == 0 ? EIO : errno));
                return bytes.size();
            }
        }
        return done;
    }

private:
    // Whatever descriptor 1 is at each write, as a plain write(1, ...)
    // would be (as the SDK's StdoutWriter does; tests redirect stdout after
    // devices exist).
    void follow_stdout()
    {
        struct stat st {};
        if (::fstat(STDOUT_FILENO, &st) != 0 || (stdout_known_ && st.st_dev == stdout_dev_ && st.st_ino == stdout_ino_))
            return;
        stdout_dev_ = st.st_dev;
        stdout_ino_ = st.st_ino;
        stdout_known_ = true;
        failed_ = false;
        try {
            fd_ = vmm::sdk::OutputFd(STDOUT_FILENO);
        } catch (const std::exception &e) {
            host_.error("cannot use stdout: %s", e.what());
            fd_ = vmm::sdk::OutputFd();
        }
    }

    void attach(int fd)
    {
        try {
            fd_ = vmm::sdk::OutputFd(fd);
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
    const char *what_ = "the output";
    bool discard_ = false;
    bool failed_ = false;
    bool follow_stdout_ = false;
    bool stdout_known_ = false;
    dev_t stdout_dev_ = 0;
    ino_t stdout_ino_ = 0;
    vmm::sdk::OutputFile file_;
    vmm::sdk::OutputFd fd_;
};

} // namespace simvirtio_plugin
