#include "spawned_vmm.hpp"

#include "test_paths.hpp"

#include <sys/ioctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace vmm::test {

SpawnedVmm::SpawnedVmm(const std::vector<std::string> &args, int in, int out, int err, bool terminal)
{
    std::vector<std::string> argv{paths::vmm_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char *> c_argv;
    for (std::string &arg : argv)
        c_argv.push_back(arg.data());
    c_argv.push_back(nullptr);
    started_ = Clock::now();
    pid_ = ::fork();
    if (pid_ < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) {
        if (terminal && (::setsid() < 0 || ::ioctl(in, TIOCSCTTY, 0) != 0))
            ::_exit(126);
        ::dup2(in, STDIN_FILENO);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(err, STDERR_FILENO);
        // A developer's own search paths must not change what is tested.
        ::unsetenv("VMM_PLUGIN_PATH");
        ::unsetenv("VMM_GUEST_PATH");
        ::execv(c_argv[0], c_argv.data());
        ::_exit(127);
    }
}

SpawnedVmm::~SpawnedVmm()
{
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

std::optional<int> SpawnedVmm::wait_status(std::chrono::milliseconds limit)
{
    if (status_)
        return status_;
    const auto deadline = Clock::now() + limit;
    for (;;) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            ended_ = Clock::now();
            status_ = status;
            return status_;
        }
        if (Clock::now() > deadline)
            return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

int SpawnedVmm::wait(std::chrono::milliseconds limit)
{
    const std::optional<int> status = wait_status(limit);
    if (!status)
        return -1;
    return WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
}

} // namespace vmm::test
