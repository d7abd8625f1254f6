// The SDK's non-blocking output (<vmm/sdk/output.hpp>) against a pipe and a
// socket nobody reads: a write never blocks, what does not fit is counted
// as dropped, what fitted arrives in order, and the descriptor we were
// given keeps its flags (the shell sharing a terminal would notice).
#include <vmm/sdk/output.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

using vmm::sdk::BufferedOutput;
using vmm::sdk::Host;

namespace {

std::string drain(int fd)
{
    std::string text;
    char buffer[4096];
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
        text.append(buffer, static_cast<std::size_t>(n));
    return text;
}

std::string pattern(std::size_t size)
{
    std::string text(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        text[i] = static_cast<char>('a' + i % 26);
    return text;
}

} // namespace

TEST_CASE("sdk output: a pipe nobody reads never blocks a write; the excess is dropped and counted", "[sdk][output]")
{
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const int pipe_size = ::fcntl(fds[1], F_SETPIPE_SZ, 4096);
    REQUIRE(pipe_size >= 4096);
    const int flags_before = ::fcntl(fds[1], F_GETFL);
    const std::size_t capacity = 8192;
    const std::string text = pattern(64 * 1024);
    std::size_t accepted = 0;
    uint64_t dropped = 0;
    const auto start = std::chrono::steady_clock::now();
    {
        BufferedOutput out(Host{}, "the pipe", capacity);
        out.attach(fds[1]);
        for (std::size_t at = 0; at < text.size(); at += 1000)
            accepted += out.write(text.data() + at, std::min<std::size_t>(1000, text.size() - at));
        CHECK(out.room() == 0);
        CHECK_FALSE(out.flush());
        dropped = out.dropped();
    } // destruction does not wait either
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    CHECK(dropped == text.size() - accepted);
    // The descriptor we were given is as it was: still blocking.
    CHECK(::fcntl(fds[1], F_GETFL) == flags_before);
    CHECK((flags_before & O_NONBLOCK) == 0);
    // What the pipe took is the start of the text, in order; the buffer
    // took `capacity` more.
    const std::string received = drain(fds[0]);
    CHECK(received.size() > 0);
    CHECK(received.size() <= static_cast<std::size_t>(pipe_size));
    CHECK(accepted == received.size() + capacity);
    CHECK(received == text.substr(0, received.size()));
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("sdk output: bytes that waited go out in order once the reader catches up", "[sdk][output]")
{
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const int pipe_size = ::fcntl(fds[1], F_SETPIPE_SZ, 4096);
    BufferedOutput out(Host{}, "the pipe", 8192);
    out.attach(fds[1]);
    const std::string text = pattern(static_cast<std::size_t>(pipe_size) + 5000);
    CHECK(out.write(text.data(), text.size()) == text.size());
    CHECK_FALSE(out.empty());
    std::string received;
    for (int i = 0; i < 10 && !out.empty(); ++i) {
        received += drain(fds[0]);
        out.flush();
    }
    CHECK(out.empty());
    received += drain(fds[0]);
    CHECK(received == text);
    CHECK(out.dropped() == 0);
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("sdk output: a socket nobody reads never blocks; a gone reader is an error, not SIGPIPE", "[sdk][output]")
{
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    const std::string text = pattern(4 * 1024 * 1024);
    {
        BufferedOutput out(Host{}, "the socket", 4096);
        out.attach(fds[0]);
        const std::size_t accepted = out.write(text.data(), text.size());
        CHECK(accepted < text.size());
        CHECK(out.dropped() == text.size() - accepted);
        ::close(fds[1]); // the reader goes away
        out.take();
        out.write("x", 1); // EPIPE: logged, not a signal
        CHECK(out.room() > 0); // a dead output takes (and drops) everything
    }
    ::close(fds[0]);
}

TEST_CASE("sdk output: a detached reconnectable output keeps bytes for the next reader", "[sdk][output]")
{
    BufferedOutput out(Host{}, "the client", 16);
    CHECK(out.write("hello", 5) == 5); // no descriptor yet: held
    CHECK(out.write("0123456789abcdefXYZ", 19) == 11);
    CHECK(out.room() == 0);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    out.attach(fds[1]);
    CHECK(out.empty());
    CHECK(drain(fds[0]) == "hello0123456789a");
    ::close(fds[0]);
    ::close(fds[1]);
}
