// The command line of `vmm`.
//
//   vmm [options] --config FILE      run a machine
//   vmm [options] plugins [--json]   list the plugins on the search path
//   vmm [options] plugins NAME [--json]   one plugin's full help
//   vmm ctl SOCKET COMMAND [ARGS...] [--json]   talk to a running vmm's control socket
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace vmm {

enum class Command { run, list_plugins, ctl };

struct Options {
    Command command = Command::run;
    std::string config;
    std::string log_level;  // --log-level: "LEVEL" or "NAME=LEVEL,...,LEVEL"; empty: warn
    int verbosity = 0;      // -v: info, -vv: debug, -vvv: trace (unless --log-level gives one)
    bool log_timestamps = false;
    std::string log_file;   // log lines go here instead of stderr; empty: stderr
    std::vector<std::string> plugin_path;
    std::string report;  // JSON report file, empty: none
    std::string control; // control socket path, empty: none
    bool json = false;   // `plugins --json`
    double timeout = 0;  // seconds of wall-clock time before the VM is stopped; 0: none
    std::string gdb;     // --gdb ADDRESS: a GDB stub listens there; empty: none (or the machine file's)
    bool gdb_wait = false; // --gdb-wait: the guest waits for the debugger to continue it
    std::vector<std::string> sets; // --set KEY=VALUE overrides of the machine file, in order
    std::string plugin_name;       // `plugins NAME`
    std::string ctl_socket;        // `ctl SOCKET COMMAND ...`
    std::vector<std::string> ctl_words;
    bool ctl_restart = false;        // `ctl ... swap --restart`: "restart": true
    std::optional<bool> ctl_isolate; // `ctl ... swap --isolate` / `--in-process`: "isolate"
};

// Parses argv. Returns the options, or an exit status when the program
// should end now (after --help / --version: 0; on a bad option: 2).
struct ParsedCommandLine {
    std::optional<Options> options;
    int exit_status = 0;
};
ParsedCommandLine parse_command_line(int argc, char **argv);

} // namespace vmm
