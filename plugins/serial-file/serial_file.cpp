// serial-file: the same 16550A UART as `serial`, transmitting to a file or
// a UNIX stream socket instead of stdout.
//
// State: stable; movable (hot swap) to and from `serial`, which shares its
//        UART core and state format ("uart16550" v2; v1 blobs load).
// Missing: everything `serial` lacks (see plugins/serial/serial.cpp).
// Documentation: TI PC16550D datasheet (SLLS057); plugins/serial-file/README.md.
//
// The output is `path` (a file), `socket` (a UNIX socket this plugin
// connects to), or, with neither, the socket of `input_from`
// ("listen:PATH": its client; "connect:PATH": that connection).
#include "uart_device.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string>

namespace {

using vmm::sdk::ConfigError;

constexpr std::array kKeys = {
    vmm::sdk::path_key("path", "file to write the output to (created if missing)", VMM_KEY_PATH_WRITE),
    vmm::sdk::with_default(vmm::sdk::bool_key("append", "append to the file instead of truncating it"), "false"),
    vmm::sdk::socket_key("socket", "UNIX stream socket to connect to and write the output to"),
    uart::kInputKey,
    uart::kInputFromKey,
};

class SerialFile final : public uart::UartDevice {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo info{"serial-file", "2.0.0",
                                  "16550A UART at a port base; transmits to a file or a UNIX socket", kKeys,
                                  uart::kDefaultRegions};
        info.default_irqs = uart::kDefaultIrqs;
        info.has_state = true;
        return info;
    }

    explicit SerialFile(const vmm::sdk::DeviceContext &context) : UartDevice(context, "the output")
    {
        const auto &settings = context.settings();
        const auto path = settings.get_string("path");
        const auto socket_path = settings.get_string("socket");
        if (path && socket_path)
            throw ConfigError("give one of `path` (a file) and `socket` (a UNIX socket), not both");
        if (path) {
            fd_ = open_file(*path, settings.get_bool(kKeys[1]).value());
        } else if (socket_path) {
            fd_ = connect_socket(*socket_path);
            share_connection(fd_, *socket_path);
        } else if (input_spec().is_socket()) {
            output_to_input_socket();
            return;
        } else {
            throw ConfigError("give `path` (a file), `socket` (a UNIX socket), or `input_from` = \"listen:PATH\" "
                              "or \"connect:PATH\" for the output");
        }
        try {
            output_to(fd_);
        } catch (const std::exception &e) {
            ::close(fd_);
            throw ConfigError(std::string("cannot use the output: ") + e.what());
        }
    }

    ~SerialFile() override
    {
        if (fd_ >= 0)
            ::close(fd_);
    }

private:
    static int open_file(const std::string &path, bool append)
    {
        // O_NONBLOCK: a FIFO nobody has open for reading would block open()
        // (at start-up, with the stop signals blocked) until a reader came;
        // it fails with ENXIO instead. Output is non-blocking anyway.
        const int fd = ::open(path.c_str(),
                              O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK | (append ? O_APPEND : O_TRUNC), 0644);
        if (fd < 0 && errno == ENXIO)
            throw ConfigError("path: '" + path + "' is a FIFO nobody has open for reading (opening it would block)");
        if (fd < 0)
            throw ConfigError("path: cannot open '" + path + "': " + std::strerror(errno));
        return fd;
    }

    static int connect_socket(const std::string &path)
    {
        sockaddr_un address{};
        if (path.size() >= sizeof address.sun_path)
            throw ConfigError("socket: path is too long: '" + path + "'");
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            throw ConfigError(std::string("socket: ") + std::strerror(errno));
        if (::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0) {
            const int error = errno;
            ::close(fd);
            throw ConfigError("socket: cannot connect to '" + path + "': " + std::strerror(error));
        }
        return fd;
    }

    int fd_ = -1;
};

} // namespace

VMM_PLUGIN(SerialFile)
