// What end-to-end tests share: running a bundled machine, showing what vmm
// printed when a check fails, and scratch directories.
#pragma once

#include "run_process.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace vmm::test {

// Attaches vmm's exit status and output to the next failing check.
inline void show(const ProcessResult &r, std::size_t limit = 8000)
{
    UNSCOPED_INFO("exit status " << r.exit_status << ", signal " << r.signal << (r.timed_out ? ", timed out" : ""));
    UNSCOPED_INFO("stdout (" << r.out.size() << " bytes):\n" << r.out.substr(0, limit));
    UNSCOPED_INFO("stderr:\n" << r.err.substr(0, limit));
}

// Runs the bundled machine configs/machines/<name>.toml with `extra` options;
// what it printed goes with the next failing check.
inline ProcessResult run_machine(const std::string &name, const std::vector<std::string> &extra = {})
{
    std::vector<std::string> args{"--config", "machines/" + name + ".toml"};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = run_vmm(args);
    show(r);
    return r;
}


} // namespace vmm::test
