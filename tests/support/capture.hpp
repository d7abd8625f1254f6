// Capturing what the process writes to stdout or stderr (a device's data,
// the loggers' lines) in unit tests, and counting what was captured.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace vmm::test {

// Sends what the process writes to `fd` (stdout: the device's data; stderr:
// its log) into a temporary file until finish(). Assertions go after
// finish(), so that Catch's own output is not captured.
class Capture {
public:
    explicit Capture(int fd) : fd_(fd)
    {
        std::fflush(nullptr);
        char name[] = "/tmp/vmm-test-capture-XXXXXX";
        file_ = ::mkstemp(name);
        REQUIRE(file_ >= 0);
        ::unlink(name);
        saved_ = ::dup(fd_);
        ::dup2(file_, fd_);
    }
    Capture(const Capture &) = delete;
    Capture &operator=(const Capture &) = delete;
    ~Capture() { finish(); }

    // Restores the descriptor; returns everything written meanwhile.
    std::string finish()
    {
        if (saved_ < 0)
            return text_;
        std::fflush(nullptr);
        ::dup2(saved_, fd_);
        ::close(saved_);
        saved_ = -1;
        char buffer[4096];
        off_t at = 0;
        for (ssize_t n; (n = ::pread(file_, buffer, sizeof buffer, at)) > 0; at += n)
            text_.append(buffer, static_cast<std::size_t>(n));
        ::close(file_);
        return text_;
    }

private:
    int fd_;
    int file_ = -1;
    int saved_ = -1;
    std::string text_;
};

// How many times `what` occurs in `text` (overlapping occurrences count).
inline std::size_t count_of(const std::string &text, const std::string &what)
{
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

} // namespace vmm::test
