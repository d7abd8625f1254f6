// vmm started in the background on descriptors a test chose for its stdin,
// stdout and stderr (a pseudo-terminal, a pipe nobody reads, a file), for
// tests that must act while it runs: type, signal, stall its output.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace vmm::test {

class SpawnedVmm {
public:
    using Clock = std::chrono::steady_clock;

    // `in`, `out`, `err` become the child's 0, 1 and 2. `terminal`: the
    // child starts a session of its own with `in` as its controlling
    // terminal, as a shell would.
    SpawnedVmm(const std::vector<std::string> &args, int in, int out, int err, bool terminal = false);
    ~SpawnedVmm(); // kills it if it still runs
    SpawnedVmm(const SpawnedVmm &) = delete;
    SpawnedVmm &operator=(const SpawnedVmm &) = delete;

    int pid() const { return pid_; }
    // The raw wait status, or nothing if it still runs after `limit`.
    std::optional<int> wait_status(std::chrono::milliseconds limit);
    // Its exit status (128 + n when signal n ended it), or -1 if it still
    // runs after `limit`.
    int wait(std::chrono::milliseconds limit);
    Clock::time_point started() const { return started_; }
    Clock::time_point ended() const { return ended_; }

private:
    int pid_ = -1;
    std::optional<int> status_;
    Clock::time_point started_, ended_;
};

} // namespace vmm::test
