// A client of vmm's control socket for end-to-end tests, and the matchers
// every check of a reply goes through: a failed one prints the whole reply
// (its "error" says why a swap or a stop failed), not just the field checked.
//
//   CHECK_THAT(control.request({{"command", "stop"}}), IsOk());
//   CHECK_THAT(reply, FailsWith("no device named 'nope'"));
//   CHECK_THAT(reply, FailsWith(Catch::StartsWith("not a valid request: ")));
//   CHECK_THAT(status, HasAt("/devices/0/plugin", "serial-file"));
#pragma once

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

namespace vmm::test {

// One JSON line out, one JSON line back.
class ControlClient {
public:
    // Retries while vmm has not yet made the socket (up to about 5 s).
    explicit ControlClient(const std::string &path)
    {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
        for (int attempt = 0; attempt < 200 && fd_ < 0; ++attempt) {
            const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0)
                fd_ = fd;
            else {
                ::close(fd);
                std::this_thread::sleep_for(std::chrono::milliseconds(25));
            }
        }
    }
    ~ControlClient()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    ControlClient(const ControlClient &) = delete;
    ControlClient &operator=(const ControlClient &) = delete;

    bool connected() const { return fd_ >= 0; }

    // Sends `line`; returns the reply line without its newline, or what
    // came before the connection ended ("" if nothing).
    std::string raw(const std::string &line)
    {
        const std::string text = line + "\n";
        std::size_t sent = 0;
        while (sent < text.size()) {
            const ssize_t n = ::send(fd_, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return "";
            sent += static_cast<std::size_t>(n);
        }
        return read_line();
    }

    // One whole reply line, or what came before the connection ended.
    std::string read_line()
    {
        std::string reply;
        complete_ = false;
        for (;;) {
            char c;
            const ssize_t n = ::recv(fd_, &c, 1, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n != 1)
                return reply;
            if (c == '\n') {
                complete_ = true;
                return reply;
            }
            reply += c;
        }
    }

    // The parsed reply; throws (naming the request) if none came whole.
    nlohmann::json request(const nlohmann::json &message)
    {
        const std::string reply = raw(message.dump());
        if (!complete_)
            throw std::runtime_error("control socket: no whole reply to " + message.dump() + " (got \"" + reply +
                                     "\" before the connection ended)");
        return nlohmann::json::parse(reply);
    }

private:
    int fd_ = -1;
    bool complete_ = false; // the last read_line() ended at a newline
};

// Asks for "status" until `ready` holds for the reply; returns the last
// reply. Waits for a condition, not a time: `limit` (run_vmm's own) only
// ends the wait for one that never comes, and the caller's check on the
// reply then says what it was.
inline nlohmann::json await_status(ControlClient &control, const std::function<bool(const nlohmann::json &)> &ready,
                                   std::chrono::milliseconds limit = std::chrono::seconds(60))
{
    const auto give_up = std::chrono::steady_clock::now() + limit;
    for (;;) {
        nlohmann::json status = control.request({{"command", "status"}});
        if (ready(status) || std::chrono::steady_clock::now() >= give_up)
            return status;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

// The value at a JSON pointer in `reply`, or null where there is none.
inline nlohmann::json value_at(const nlohmann::json &reply, const std::string &pointer)
{
    const nlohmann::json::json_pointer at(pointer);
    return reply.contains(at) ? reply[at] : nlohmann::json();
}

// A reply matcher: `test` decides, `description` completes "<reply> ...".
class ReplyMatcher : public Catch::MatcherBase<nlohmann::json> {
public:
    ReplyMatcher(std::function<bool(const nlohmann::json &)> test, std::string description)
        : test_(std::move(test)), description_(std::move(description))
    {
    }
    bool match(const nlohmann::json &reply) const override { return test_(reply); }
    std::string describe() const override { return description_; }

private:
    std::function<bool(const nlohmann::json &)> test_;
    std::string description_;
};

// "ok": true.
inline ReplyMatcher IsOk()
{
    return {[](const nlohmann::json &r) { return r.is_object() && r.contains("ok") && r["ok"] == true; },
            "is a reply with \"ok\": true"};
}

// "ok": false, and an "error" that `error` matches (a Catch string matcher).
template <typename StringMatcher,
          typename = std::enable_if_t<std::is_base_of_v<Catch::Matchers::Impl::MatcherUntypedBase, StringMatcher>>>
ReplyMatcher FailsWith(StringMatcher error)
{
    const std::string description = "is a reply with \"ok\": false and an error that " + error.toString();
    return {[error](const nlohmann::json &r) {
                return r.is_object() && r.contains("ok") && r["ok"] == false && r.contains("error") &&
                       r["error"].is_string() && error.match(r["error"].get<std::string>());
            },
            description};
}

// "ok": false, and exactly this "error".
inline ReplyMatcher FailsWith(const std::string &error) { return FailsWith(Catch::Equals(error)); }

// The value at a JSON pointer ("/devices/0/plugin") equals `expected`.
inline ReplyMatcher HasAt(const std::string &pointer, const nlohmann::json &expected)
{
    return {[pointer, expected](const nlohmann::json &r) {
                const nlohmann::json::json_pointer at(pointer);
                return r.contains(at) && r[at] == expected;
            },
            "has " + pointer + " = " + expected.dump()};
}

// The value at a JSON pointer satisfies `test`, described as `what`.
inline ReplyMatcher HasAt(const std::string &pointer, std::function<bool(const nlohmann::json &)> test,
                          const std::string &what)
{
    return {[pointer, test](const nlohmann::json &r) {
                const nlohmann::json::json_pointer at(pointer);
                return r.contains(at) && test(r[at]);
            },
            "has " + pointer + " " + what};
}

} // namespace vmm::test
