#include "cli/options.hpp"

#include "support/errors.hpp"
#include "support/escape.hpp"
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

} // namespace

ParsedCommandLine parse_command_line(int argc, char **argv)
{
    Options options;
    CLI::App app{"vmm - a modular virtual machine monitor on KVM.\n"
                 "Runs the machine described by a TOML file, with devices loaded from plugins."};
    app.set_version_flag("--version", std::string("vmm ") + kVmmVersion + " (plugin ABI " + kVmmAbiVersion + ")");
    app.add_option("-c,--config", options.config,
                   "machine file; looked up as given, then under the bundled configs/ (e.g. machines/hello.toml)");
    app.add_option("--log-level", options.log_level, "trace, debug, info, warn, error, critical or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    app.add_option("--plugin-path", options.plugin_path,
                   std::string("directory to search for plugins first (repeatable, or ':'-separated); then $") +
                       paths::kPluginPathEnv + ", then the installed and built plugins");
    app.add_option("--report", options.report,
                   "write a JSON report of the run: per vCPU its end, exit counts by reason and final registers, "
                   "and the machine's checks");
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
    CLI::App *plugins = app.add_subcommand("plugins", "list every plugin on the search path, with its settings");
    plugins->add_flag("--json", options.json, "as JSON");
    app.require_subcommand(0, 1);
    app.footer("Exit status: the guest's own (debug-exit), 0 when every vCPU halted, 1 when the guest died or a\n"
               "check failed, 2 for bad input (machine file, image, plugin or option), 124 after --timeout,\n"
               "130 / 143 after SIGINT / SIGTERM.");
    try {
        app.parse(argc, argv);
        if (plugins->parsed())
            options.command = Command::list_plugins;
        else if (options.config.empty())
            throw CLI::RequiredError("--config");
    } catch (const CLI::ParseError &error) {
        const int status = app.exit(error);
        return ParsedCommandLine{std::nullopt, status == 0 ? kExitOk : kExitBadInput};
    }
    return ParsedCommandLine{options, kExitOk};
}

} // namespace vmm
