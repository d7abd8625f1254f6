// What the benchmarks share: timing a whole `vmm` process on a machine file,
// the pio-loop machine, scratch directories and medians. Each benchmark is
// built with VMM_BENCH_VMM_BINARY naming the vmm under test.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

// A fresh directory under /tmp, removed with this object.
class ScratchDir {
public:
    explicit ScratchDir(const std::string &purpose)
    {
        std::string name = "/tmp/vmm-bench-" + purpose + "-XXXXXX";
        if (::mkdtemp(name.data()) == nullptr) {
            std::fprintf(stderr, "mkdtemp: %s\n", std::strerror(errno));
            std::exit(1);
        }
        path_ = name;
    }
    ~ScratchDir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    ScratchDir(const ScratchDir &) = delete;
    ScratchDir &operator=(const ScratchDir &) = delete;
    const std::string &path() const { return path_; }

private:
    std::string path_;
};

struct VmmRun {
    int wait_status = 0; // as waitpid gives it
    double seconds = 0;  // the whole process, start-up included
    bool ok() const { return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }
};

// Runs vmm on `machine` at log level warn with `extra` options. Its stdout and
// stderr go to the given files, or stay ours when a name is empty.
inline VmmRun time_vmm(const std::string &machine, const std::vector<std::string> &extra = {},
                       const std::string &stdout_file = "", const std::string &stderr_file = "")
{
    std::vector<std::string> args{VMM_BENCH_VMM_BINARY, "--config", machine, "--log-level", "warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char *> argv;
    for (std::string &arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);

    const auto start = Clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        const auto redirect = [](const std::string &file, int fd) {
            if (file.empty())
                return;
            const int target = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (target < 0 || ::dup2(target, fd) < 0)
                ::_exit(126);
        };
        redirect(stdout_file, STDOUT_FILENO);
        redirect(stderr_file, STDERR_FILENO);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    VmmRun run;
    if (pid < 0 || ::waitpid(pid, &run.wait_status, 0) < 0) {
        std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
        std::exit(1);
    }
    run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return run;
}

// The pio-loop guest (guests/pio-loop: `writes` OUTs to the serial port,
// then HLT) as a machine file.
inline std::string pio_loop_machine(uint64_t writes)
{
    return "[machine]\nmemory = \"8K\"\n[cpu]\nmode = \"real\"\nentry = 0x1000\n"
           "registers = { rcx = " +
           std::to_string(writes) +
           " }\n"
           "[[image]]\nfile = \"pio-loop.bin\"\naddress = 0x1000\n"
           "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n";
}

inline double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

} // namespace bench
