// Where the UART's input comes from: the `input_from` setting.
//   "none"          nothing (the default)
//   "stdin"         the VMM's stdin: the terminal (raw mode) when it is one,
//                   else the pipe or file on it
//   "file:PATH"     a file (or FIFO), read to its end
//   "listen:PATH"   a UNIX stream socket the VMM listens on; one client at
//                   a time, the next one is taken when it leaves
//   "connect:PATH"  a UNIX stream socket the VMM connects to
// Paths are checked when the device is made (a missing one is a
// configuration error naming the setting); files and sockets are opened
// when it is realized, and every descriptor read here is non-blocking.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace uart {

struct InputSpec {
    enum class Kind { none, stdin_, file, listen, connect };
    Kind kind = Kind::none;
    std::string path;

    // Throws vmm::sdk::ConfigError ("input_from: ...") for a bad value.
    static InputSpec parse(const std::string &value);
    // Throws vmm::sdk::ConfigError unless the path can be used.
    void check() const;
    bool is_socket() const { return kind == Kind::listen || kind == Kind::connect; }
};

class InputStream {
public:
    explicit InputStream(InputSpec spec) : spec_(std::move(spec)) {}
    ~InputStream();
    InputStream(const InputStream &) = delete;
    InputStream &operator=(const InputStream &) = delete;

    // Opens, binds or connects (throws vmm::sdk::ConfigError). `connected`,
    // if not -1, is a socket already connected to the same path (the
    // output's), used instead of a second connection.
    void open(int connected = -1);

    const InputSpec &spec() const { return spec_; }
    // The descriptor to read now, or -1 (no client yet, or input ended).
    int data_fd() const { return data_fd_; }
    // The listening socket (listen: only), or -1.
    int listen_fd() const { return listen_fd_; }
    // True for a regular file, which epoll cannot watch: read it on demand.
    bool always_ready() const { return always_ready_; }
    bool is_terminal() const { return terminal_; }
    bool ended() const { return ended_; }

    // listen: take a waiting client, if any. True when one was taken.
    bool accept();
    // Non-blocking read: bytes, 0 at the end, -1 with errno (EAGAIN: none now).
    ssize_t read(uint8_t *buffer, std::size_t size);
    // The input ended (or the client left): close; listen waits for the next.
    void end();

private:
    InputSpec spec_;
    int data_fd_ = -1;
    int listen_fd_ = -1;
    bool always_ready_ = false;
    bool terminal_ = false;
    bool ended_ = false;
    bool bound_ = false; // we made the socket file: remove it at the end
};

} // namespace uart
