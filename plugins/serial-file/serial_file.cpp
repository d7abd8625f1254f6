// serial-file: the same 16550 UART subset as `serial`, transmitting to a
// file or to a UNIX stream socket instead of stdout.
//
// State: stable; movable (hot swap) to and from `serial`, which shares its
// register model and state format ("uart16550" v1).
// Missing: everything `serial` lacks (interrupts, loopback, timing); a
//          server mode for the socket (it connects to a listener, like
//          QEMU's `-chardev socket,server=off`); reading input from it.
// Documentation: TI PC16550D datasheet (SLLS057); plugins/serial/README.md.
//
// Each byte is written with write(2) as the guest sends it, so a reader of
// the file or socket sees output as it happens and nothing is lost if the
// VMM dies.
#include "../serial/uart16550.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string>

namespace {

constexpr std::array kKeys = {
    vmm::sdk::string_key("path", "file to write the output to (created if missing)"),
    vmm::sdk::bool_key("append", "append to the file instead of truncating it (default false)"),
    vmm::sdk::string_key("socket", "UNIX stream socket to connect to and write the output to"),
    vmm::sdk::string_key("input", "bytes the guest reads from RBR, in order (default: none)"),
};
constexpr std::array kRegions = {vmm::sdk::pio_region(0x3f8, uart::reg::kCount)};

class SerialFile final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo info{"serial-file", "1.0.0",
                                  "16550 UART subset at a port base; transmits to a file or a UNIX socket", kKeys,
                                  kRegions};
        info.has_state = true;
        return info;
    }

    explicit SerialFile(const vmm::sdk::DeviceContext &context)
        : Device(context), uart_([this](uint8_t byte) { transmit(byte); })
    {
        context.require_regions(vmm::sdk::Space::pio, 1, uart::reg::kCount);
        const auto &settings = context.settings();
        const auto path = settings.get_string("path");
        const auto socket_path = settings.get_string("socket");
        if (path.has_value() == socket_path.has_value())
            throw vmm::sdk::ConfigError("give exactly one of `path` (a file) and `socket` (a UNIX socket)");
        fd_ = path ? open_file(*path, settings.get_bool("append", false)) : connect_socket(*socket_path);
        const std::string input = settings.get_string("input", "");
        uart_.set_input(std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(input.data()), input.size()));
    }

    ~SerialFile() override
    {
        if (fd_ >= 0)
            ::close(fd_);
    }

    void read(uint32_t, uint64_t offset, std::span<uint8_t> data) override { uart_.read(offset, data); }
    void write(uint32_t, uint64_t offset, std::span<const uint8_t> data) override { uart_.write(offset, data); }
    std::vector<uint8_t> save_state() override { return uart_.save(); }
    void load_state(std::span<const uint8_t> blob) override { uart_.load(blob); }

private:
    static int open_file(const std::string &path, bool append)
    {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
        if (fd < 0)
            throw vmm::sdk::ConfigError("cannot open " + path + ": " + std::strerror(errno));
        return fd;
    }

    static int connect_socket(const std::string &path)
    {
        sockaddr_un address{};
        if (path.size() >= sizeof address.sun_path)
            throw vmm::sdk::ConfigError("socket path is too long: " + path);
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            throw vmm::sdk::ConfigError(std::string("socket: ") + std::strerror(errno));
        if (::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0) {
            const int error = errno;
            ::close(fd);
            throw vmm::sdk::ConfigError("cannot connect to " + path + ": " + std::strerror(error));
        }
        return fd;
    }

    void transmit(uint8_t byte)
    {
        if (output_failed_ || send_byte(byte))
            return;
        host().error("cannot write the output (%s); further output is dropped", std::strerror(errno));
        output_failed_ = true;
    }

    bool send_byte(uint8_t byte)
    {
        for (;;) {
            // MSG_NOSIGNAL: a reader that went away must not kill the VMM
            // with SIGPIPE. EINTR is routine: the core kicks vCPU threads
            // with a signal to pause them (a hot swap does). For files
            // send() fails with ENOTSOCK: write() them.
            const ssize_t sent = ::send(fd_, &byte, 1, MSG_NOSIGNAL);
            if (sent == 1)
                return true;
            if (sent < 0 && errno == EINTR)
                continue;
            if (sent < 0 && errno == ENOTSOCK)
                return vmm::sdk::write_all(fd_, &byte, 1);
            if (sent == 0)
                errno = EIO;
            return false;
        }
    }

    uart::Uart16550 uart_;
    int fd_ = -1;
    bool output_failed_ = false; // after the first failure, stop trying
};

} // namespace

VMM_PLUGIN(SerialFile)
