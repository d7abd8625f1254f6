#include "isolation/device_host_spawn.hpp"

#include "isolation/child_environment.hpp"

#include <signal.h>
#include <spawn.h>

namespace vmm::isolation {

int spawn_device_host(const std::string &helper, const std::vector<std::string> &arguments,
                      const std::vector<std::pair<int, int>> &moves, pid_t &pid)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    for (const auto &[from, to] : moves)
        posix_spawn_file_actions_adddup2(&actions, from, to);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> argument_strings{helper};
    argument_strings.insert(argument_strings.end(), arguments.begin(), arguments.end());
    std::vector<char *> argv;
    argv.reserve(argument_strings.size() + 1);
    for (std::string &argument : argument_strings)
        argv.push_back(argument.data());
    argv.push_back(nullptr);
    std::vector<std::string> environment = child_environment();
    std::vector<char *> envp;
    envp.reserve(environment.size() + 1);
    for (std::string &entry : environment)
        envp.push_back(entry.data());
    envp.push_back(nullptr);

    const int rc = ::posix_spawn(&pid, helper.c_str(), &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return rc;
}

} // namespace vmm::isolation
