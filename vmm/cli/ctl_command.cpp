#include "cli/ctl_command.hpp"

#include "support/errors.hpp"
#include "support/escape.hpp"

#include <fmt/format.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>

namespace vmm {
namespace {

using json = nlohmann::ordered_json;

// How long a reply may take: a swap waits for every vCPU to leave KVM_RUN
// and for the plugins' save and restore, well under a second; a stuck vmm
// must not hang its client.
constexpr int kReplyTimeoutMs = 30000;

// A swap setting's value: JSON when it reads as a number, boolean or quoted
// string (42, 0x10 is not JSON and stays a string), else the text itself.
json setting_value(const std::string &text)
{
    if (!text.empty() && (text == "true" || text == "false" || text.front() == '"' || text.front() == '-' ||
                          (text.front() >= '0' && text.front() <= '9'))) {
        try {
            json value = json::parse(text);
            if (value.is_primitive() && !value.is_null())
                return value;
        } catch (const json::exception &) {
        }
    }
    return text;
}

// Sends `line` and reads the reply line; throws SystemError on failure.
std::string send_request(const std::string &path, const std::string &line)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path)
        throw SystemError(fmt::format("socket path {} is longer than {} bytes", escaped(path),
                                      sizeof address.sun_path - 1));
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw SystemError(errno_message("socket", errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0)
        throw SystemError(errno_message("cannot connect to " + escaped(path) + " (is vmm running with --control?)",
                                        errno));
    for (std::size_t done = 0; done < line.size();) {
        const ssize_t n = ::send(fd, line.data() + done, line.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw SystemError(errno_message("cannot send the request to " + escaped(path), errno));
        done += static_cast<std::size_t>(n);
    }
    std::string reply;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReplyTimeoutMs);
    while (reply.find('\n') == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0)
            throw SystemError(fmt::format("no reply from {} within {} s", escaped(path), kReplyTimeoutMs / 1000));
        char buffer[4096];
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw SystemError(errno_message("cannot read the reply from " + escaped(path), errno));
        if (n == 0)
            break;
        reply.append(buffer, static_cast<std::size_t>(n));
        if (reply.size() > (16u << 20))
            throw SystemError("the reply is longer than 16 MiB");
    }
    if (reply.empty())
        throw SystemError(fmt::format("{} closed the connection without a reply (the VM may have stopped)",
                                      escaped(path)));
    return reply.substr(0, reply.find('\n'));
}

std::string text_of(const json &value)
{
    return value.is_string() ? escaped(value.get<std::string>()) : escaped(value.dump());
}

} // namespace

std::optional<json> control_request_from_words(const std::vector<std::string> &words, std::string &error,
                                               const SwapFlags &flags)
{
    const std::string command = words.empty() ? "" : words[0];
    if (command != "swap" && (flags.restart || flags.isolate)) {
        error = fmt::format("--restart, --isolate and --in-process apply to swap, not to '{}'", escaped(command));
        return std::nullopt;
    }
    if ((command == "status" || command == "stop") && words.size() == 1)
        return json{{"command", command}};
    if (command == "swap" && words.size() >= 3) {
        json request{{"command", "swap"}, {"device", words[1]}, {"plugin", words[2]}};
        json settings = json::object();
        bool any = false;
        for (std::size_t i = 3; i < words.size(); ++i) {
            const std::size_t equals = words[i].find('=');
            if (equals == std::string::npos || equals == 0) {
                error = fmt::format("swap: '{}' is not KEY=VALUE (a setting for the new plugin)", escaped(words[i]));
                return std::nullopt;
            }
            settings[words[i].substr(0, equals)] = setting_value(words[i].substr(equals + 1));
            any = true;
        }
        if (any)
            request["settings"] = settings;
        if (flags.restart)
            request["restart"] = true;
        if (flags.isolate)
            request["isolate"] = *flags.isolate;
        return request;
    }
    if (command == "status" || command == "stop")
        error = fmt::format("'{}' takes no arguments", command);
    else if (command == "swap")
        error = "swap needs a device and a plugin: swap DEVICE PLUGIN [KEY=VALUE ...]";
    else
        error = fmt::format("unknown command '{}' (status, stop, or swap DEVICE PLUGIN [KEY=VALUE ...])",
                            escaped(command));
    return std::nullopt;
}

std::string describe_control_reply(const json &request, const json &reply)
{
    if (!reply.is_object() || !reply.value("ok", false))
        return "error: " + (reply.is_object() && reply.contains("error") ? text_of(reply["error"]) : text_of(reply)) +
               "\n";
    const std::string command = request.value("command", "");
    std::string out;
    if (command == "status") {
        out += fmt::format("machine {}\n", text_of(reply.value("machine", json(""))));
        for (const json &device : reply.value("devices", json::array())) {
            std::string ranges;
            for (const json &range : device.value("ranges", json::array()))
                ranges += (ranges.empty() ? "" : ", ") + text_of(range);
            out += fmt::format("  device {}: plugin {} {} ({}){}\n", text_of(device.value("name", json(""))),
                               text_of(device.value("plugin", json(""))),
                               text_of(device.value("plugin_version", json(""))),
                               text_of(device.value("plugin_file", json(""))), ranges.empty() ? "" : ", " + ranges);
        }
        for (const json &vcpu : reply.value("vcpus", json::array()))
            out += fmt::format("  vcpu {}: {}, {} exits\n", text_of(vcpu.value("index", json(0))),
                               text_of(vcpu.value("state", json(""))), text_of(vcpu.value("exits", json(0))));
    } else if (command == "swap") {
        out +=
            fmt::format("swapped device {}: {} -> {} ({} bytes of state, vCPUs paused {} us{})\n",
                        text_of(reply.value("device", json(""))), text_of(reply.value("old_plugin", json(""))),
                        text_of(reply.value("new_plugin", json(""))), text_of(reply.value("state_bytes", json(0))),
                        text_of(reply.value("pause_us", json(0))), reply.value("isolated", false) ? ", isolated" : "");
    } else {
        out += "stopping\n";
    }
    return out;
}

int control_client_command(const Options &options)
{
    std::string error;
    const auto request =
        control_request_from_words(options.ctl_words, error, SwapFlags{options.ctl_restart, options.ctl_isolate});
    if (!request) {
        std::cerr << "vmm ctl: " << error << std::endl;
        return kExitBadInput;
    }
    std::string line;
    try {
        line = send_request(options.ctl_socket, request->dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    } catch (const SystemError &e) {
        std::cerr << "vmm ctl: " << e.what() << std::endl;
        return kExitFailure;
    }
    json reply;
    try {
        reply = json::parse(line);
    } catch (const json::exception &) {
        std::cerr << "vmm ctl: the reply is not JSON: " << escaped(line) << std::endl;
        return kExitFailure;
    }
    const bool ok = reply.is_object() && reply.value("ok", false);
    if (options.json)
        std::cout << line << std::endl;
    else
        (ok ? std::cout : std::cerr) << describe_control_reply(*request, reply) << std::flush;
    return ok ? kExitOk : kExitFailure;
}

} // namespace vmm
