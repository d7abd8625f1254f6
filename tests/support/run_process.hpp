// Runs a program, feeding nothing to stdin, capturing stdout and stderr
// separately, with a wall-clock limit. For end-to-end tests of `vmm`.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace vmm::test {

struct ProcessResult {
    int exit_status = -1; // when it exited
    int signal = 0;       // when a signal ended it
    bool timed_out = false;
    std::string out;
    std::string err;
};

struct ProcessOptions {
    std::string working_directory; // empty: inherit
    std::map<std::string, std::string> environment; // added to ours
    std::chrono::milliseconds timeout{60000};
    bool close_stdout = false; // start the program with fd 1 closed
    // Called in the parent once the child runs (e.g. to signal it later).
    std::function<void(int pid)> on_start;
};

ProcessResult run_process(const std::vector<std::string> &argv, const ProcessOptions &options = {});

// The `vmm` binary under test, with `args`.
ProcessResult run_vmm(const std::vector<std::string> &args, const ProcessOptions &options = {});

} // namespace vmm::test
