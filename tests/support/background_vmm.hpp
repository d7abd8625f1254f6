// vmm running on a thread of the test, for tests that talk to it (control
// socket, signals) while it runs.
#pragma once

#include "run_process.hpp"

#include <signal.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace vmm::test {

// vmm running on a thread of the test. A failed REQUIRE throws out of the
// test while it runs, and destroying a joinable std::thread aborts the whole
// test program: so the destructor kills a vmm that is still running and joins.
class BackgroundVmm {
public:
    explicit BackgroundVmm(std::vector<std::string> args)
        : thread_([this, args] {
              ProcessOptions options;
              options.on_start = [this](int pid) { pid_ = pid; };
              result_ = run_vmm(args, options);
              pid_ = 0;
          })
    {
    }
    ~BackgroundVmm()
    {
        if (!thread_.joinable())
            return;
        if (const int pid = pid_; pid > 0)
            ::kill(pid, SIGKILL);
        thread_.join();
    }
    BackgroundVmm(const BackgroundVmm &) = delete;
    BackgroundVmm &operator=(const BackgroundVmm &) = delete;

    // Waits for vmm to end on its own (within run_vmm's time limit).
    const ProcessResult &wait()
    {
        if (thread_.joinable())
            thread_.join();
        return result_;
    }

private:
    std::atomic<int> pid_{0};
    ProcessResult result_;
    std::thread thread_; // last: it starts once the members it uses exist
};

} // namespace vmm::test
