#include "cli/options.hpp"

#include "support/errors.hpp"
#include "support/escape.hpp"
#include "support/logging.hpp"
#include "support/paths.hpp"
#include "vmm_version.hpp"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace vmm {
namespace {

// --timeout: a finite number of seconds. CLI::Range let "nan" through (every
// comparison with NaN is false), and a NaN timeout meant no timeout.
std::string check_timeout(std::string &text)
{
    const char *begin = text.c_str();
    char *end = nullptr;
    errno = 0;
    const double seconds = std::strtod(begin, &end);
    if (end == begin || *end != '\0' || errno == ERANGE || !std::isfinite(seconds) || seconds < 0 || seconds > 1e9)
        return "'" + escaped(text) + "' is not a number of seconds from 0 to 1e9 (0: no timeout)";
    return "";
}

// --log-level: one level, or per-logger levels and a global one.
std::string check_log_level(std::string &text)
{
    std::string why;
    if (!logging::parse_level_spec(text, &why))
        return "--log-level " + escaped(text) + ": " + why;
    return "";
}

// --set KEY=VALUE, KEY dotted: the value is checked with the machine file.
std::string check_set(std::string &text)
{
    const std::size_t equals = text.find('=');
    if (equals == std::string::npos || equals == 0)
        return "--set " + escaped(text) + ": expected KEY=VALUE, e.g. machine.memory=64M or "
                                          "device.com1.settings.input=hello";
    return "";
}

} // namespace

ParsedCommandLine parse_command_line(int argc, char **argv)
{
    Options options;
    CLI::App app{"vmm - a modular virtual machine monitor on KVM.\n"
                 "Runs the machine described by a TOML file, with devices loaded from plugins."};
    app.set_version_flag("--version", std::string("vmm ") + kVmmVersion + " (plugin ABI " + kVmmAbiVersion + ")");
    app.add_option("-c,--config", options.config,
                   "machine file; looked up as given, then under the bundled configs/ (e.g. machines/hello.toml)");
    app.add_option("--log-level", options.log_level,
                   "trace, debug, info, warn (or warning), error, critical or off (default: warn); or per device, "
                   "comma-separated: com1=debug,info (the core's logger is 'vmm')")
        ->check(CLI::Validator(check_log_level, "LEVEL"));
    app.add_flag("-v,--verbose", options.verbosity, "more detail on stderr: -v info, -vv debug, -vvv trace");
    app.add_flag("--log-timestamps", options.log_timestamps, "start each log line with the date and time");
    app.add_option("--log-file", options.log_file,
                   "write log lines to this file instead of stderr (the outcome lines go to both); never waited "
                   "for, and at most 256 MiB");
    app.add_option("--set", options.sets,
                   "override a machine-file value, checked as if the file said it (repeatable): "
                   "machine.memory=64M, cpu.entry=0x1000, device.NAME.settings.KEY=VALUE, image.0.file=x.bin")
        ->check(CLI::Validator(check_set, "KEY=VALUE"))
        ->allow_extra_args(false);
    app.add_option("--plugin-path", options.plugin_path,
                   std::string("directory to search for plugins first (repeatable, or ':'-separated); then $") +
                       paths::kPluginPathEnv + ", then the installed and built plugins")
        ->allow_extra_args(false); // one value each: `plugins NAME` may follow
    app.add_option("--report", options.report,
                   "write a JSON report of the run: per vCPU its end, exit counts by reason and final registers, "
                   "the machine's checks, and what ran (vmm version, plugins, swaps, wall time, host)");
    app.add_option("--control", options.control,
                   "listen on this UNIX socket for control requests, one JSON object per line: "
                   "{\"command\": \"status\"}, {\"command\": \"swap\", \"device\": D, \"plugin\": P}, "
                   "{\"command\": \"stop\"}");
    app.add_option("--timeout", options.timeout,
                   "stop the VM after this many seconds of wall-clock time (exit status 124)")
        ->check(CLI::Validator(check_timeout, "SECONDS"));
    app.add_option("--gdb", options.gdb,
                   "listen for a GDB debugger on ADDRESS: HOST:PORT (loopback if HOST is left out) or a UNIX "
                   "socket path (see docs/gdb-stub.md)");
    app.add_flag("--gdb-wait", options.gdb_wait,
                 "with --gdb: the guest runs its first instruction only when the debugger continues it");
    CLI::App *plugins = app.add_subcommand(
        "plugins", "list every plugin on the search path, with its settings; with NAME, that plugin's full help");
    plugins->add_option("name", options.plugin_name, "a plugin's name (or a path to its .so)");
    plugins->add_flag("--json", options.json, "as JSON");
    plugins->fallthrough(); // the main options work after the subcommand too
    CLI::App *ctl = app.add_subcommand("ctl", "send a request to a running vmm's --control socket: "
                                              "status | stop | swap DEVICE PLUGIN [KEY=VALUE ...]");
    ctl->add_option("socket", options.ctl_socket, "the socket vmm was started with (--control)")->required();
    ctl->add_option("command", options.ctl_words, "status, stop, or swap DEVICE PLUGIN [KEY=VALUE ...]")->required();
    ctl->add_flag("--json", options.json, "print the reply as JSON, as the socket sent it");
    ctl->add_flag("--restart", options.ctl_restart,
                  "swap: allow the swap of a device whose plugin cannot save its state (the new instance starts "
                  "from scratch)");
    CLI::Option *ctl_isolate = ctl->add_flag_callback(
        "--isolate", [&options] { options.ctl_isolate = true; },
        "swap: run the new instance in a sandboxed process of its own (docs/isolation.md)");
    CLI::Option *ctl_in_process = ctl->add_flag_callback(
        "--in-process", [&options] { options.ctl_isolate = false; }, "swap: run the new instance inside vmm");
    ctl_isolate->excludes(ctl_in_process);
    ctl->fallthrough();
    app.require_subcommand(0, 1);
    app.footer("Exit status: the guest's own (debug-exit), 0 when every vCPU halted, 1 when the guest died or a\n"
               "check failed (`ctl`: the request failed), 2 for bad input (machine file, image, plugin or option), 124 after --timeout,\n"
               "130 / 143 after SIGINT / SIGTERM.");
    try {
        app.parse(argc, argv);
        if (plugins->parsed())
            options.command = Command::list_plugins;
        else if (ctl->parsed())
            options.command = Command::ctl;
        else if (options.config.empty())
            throw CLI::RequiredError("--config");
    } catch (const CLI::ParseError &error) {
        const int status = app.exit(error);
        return ParsedCommandLine{std::nullopt, status == 0 ? kExitOk : kExitBadInput};
    }
    return ParsedCommandLine{options, kExitOk};
}

} // namespace vmm
