// A UNIX stream socket that takes requests while the VM runs: one JSON
// object per line in, one JSON object per line out, for any number of
// clients. A thread of its own serves it; requests are handled one at a
// time. Lines longer than 64 KiB end their connection (after an error reply).
#pragma once

#include "support/unique_fd.hpp"

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace vmm {

class ControlServer {
public:
    // Turns one request line into one reply line (without the newline).
    using Handler = std::function<std::string(std::string_view)>;

    // Listens on `path` (a stale socket there is replaced; any other file is
    // an InputError). Serving starts at once.
    ControlServer(std::filesystem::path path, Handler handler);

    // InputError unless `path` can be ours: it must not exist, or be a
    // socket file nobody listens on (a stale one from an earlier run).
    // Where a connection succeeds another vmm (or program) serves: taking
    // its path would cut it off from its clients without a word. Called
    // before the VM is built, and again by the constructor.
    static void check_path(const std::filesystem::path &path);
    ~ControlServer(); // stops serving, removes the socket file
    ControlServer(const ControlServer &) = delete;
    ControlServer &operator=(const ControlServer &) = delete;

private:
    void serve();

    std::filesystem::path path_;
    dev_t socket_device_ = 0; // the socket file we made, to remove only that one
    ino_t socket_inode_ = 0;
    Handler handler_;
    UniqueFd listener_;
    UniqueFd wake_; // eventfd: tells the thread to end
    std::thread thread_;
};

} // namespace vmm
