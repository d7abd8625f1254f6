// vmm: run the machine a TOML file describes.
#include "cli/options.hpp"
#include "cli/ctl_command.hpp"
#include "cli/plugins_command.hpp"
#include "config/machine_loader.hpp"
#include "control/control_requests.hpp"
#include "control/control_server.hpp"
#include "core/checks.hpp"
#include "core/exit_reasons.hpp"
#include "core/fatal_signal.hpp"
#include "core/machine.hpp"
#include "core/machine_plan.hpp"
#include "core/report.hpp"
#include "core/report_file.hpp"
#include "core/run_facts.hpp"
#include "core/stop_router.hpp"
#include "debug/gdb_listener.hpp"
#include "debug/gdb_stub.hpp"
#include "plugin/plugin_finder.hpp"
#include "support/errors.hpp"
#include "support/escape.hpp"
#include "support/logging.hpp"
#include "support/paths.hpp"
#include "support/stderr_writer.hpp"
#include "support/stop_watcher.hpp"
#include "support/terminal_guard.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>

namespace {

using namespace vmm;

void print_errors(const std::exception &error)
{
    // One error per line, each `file:line:col: message` where known; never
    // waiting for a stalled stderr.
    std::fflush(stdout);
    const std::string text = std::string(error.what()) + "\n";
    write_stderr(text.data(), text.size());
}

void print_summary(const RunResult &result)
{
    for (const VcpuOutcome &vcpu : result.vcpus) {
        std::string state;
        if (vcpu.state_valid)
            state = fmt::format(" at {:04x}:{:x}, rax={:#x}", vcpu.sregs.cs.selector, vcpu.regs.rip, vcpu.regs.rax);
        const std::string last =
            vcpu.exits == 0 ? "no exits" : fmt::format("{} exits, last exit {}", vcpu.exits, exit_reason_name(vcpu.last_exit_reason));
        logging::core().info("vcpu {}: {} after {}{}", vcpu.index, vcpu_end_name(vcpu.end), last, state);
    }
}

// The one line that gives the final status, printed after the checks: a
// run whose vCPUs halted but whose check failed ends with 1, and says so.
void print_stopped(const RunResult &result, std::size_t failed_checks)
{
    if (failed_checks == 0)
        logging::outcome().info("stopped: {} (exit status {})", result.reason, result.exit_status);
    else
        logging::outcome().error("stopped: {}; {} check(s) failed (exit status {})", result.reason, failed_checks,
                              result.exit_status);
}

// --log-level, -v and --log-timestamps as the logging module takes them:
// a global level from --log-level wins over -v.
logging::Settings log_settings(const Options &options)
{
    logging::Settings settings;
    settings.timestamps = options.log_timestamps;
    static constexpr spdlog::level::level_enum kByVerbosity[] = {logging::kDefaultLevel, spdlog::level::info,
                                                                  spdlog::level::debug, spdlog::level::trace};
    settings.level = kByVerbosity[std::min(options.verbosity, 3)];
    if (const auto spec = logging::parse_level_spec(options.log_level); spec && !options.log_level.empty()) {
        if (spec->global)
            settings.level = *spec->global;
        settings.by_name = spec->by_name;
    }
    return settings;
}

int run(const Options &options)
{
    logging::init(log_settings(options));

    // The options are good: the previous run's report goes first, before
    // anything else can fail or have side effects.
    std::optional<ReportFile> report;
    try {
        if (!options.log_file.empty())
            logging::log_to_file(options.log_file);
        if (!options.report.empty())
            report.emplace(options.report);
    } catch (const InputError &error) {
        print_errors(error);
        return kExitBadInput;
    }

    // From here until run() returns, SIGINT, SIGTERM and --timeout work:
    // while the machine is built, while it runs and while its devices are
    // destroyed (a destroy that never returns can be interrupted).
    StopRouter stops;
    const StopWatcher watcher(
        [&stops](StopWatcher::Reason reason) { stops.deliver(reason); },
        options.timeout > 0 ? std::optional(std::chrono::milliseconds(static_cast<int64_t>(options.timeout * 1000)))
                            : std::nullopt,
        [](int signo) {
            // A stop stuck before the report was written: say so, rather
            // than leave no report.
            ReportFile::write_minimal_now(128 + signo, "signal",
                                          "a second signal while stopping: vmm exited at once (the stop was stuck)");
        });

    const auto config = paths::resolve_config(options.config);
    if (!config) {
        std::string where;
        for (const auto &dir : paths::bundled_config_dirs())
            where += ", " + dir.string();
        std::cerr << fmt::format("cannot find machine file {} (looked in the working directory{})", escaped(options.config),
                                 where)
                  << std::endl;
        return kExitBadInput;
    }

    RunFacts facts; // the wall time counts from here
    try {
        const MachineSpec spec = load_machine_file(*config, paths::guest_dirs(), options.sets);
        for (const DeviceSpec &device : spec.devices) {
            if (!device.log_level.empty())
                logging::set_file_level(device.name, *logging::parse_level(device.log_level));
        }
        // A level for a name nothing logs under is most likely a typo.
        for (const auto &[name, level] : log_settings(options).by_name) {
            const bool known = name == "vmm" || std::any_of(spec.devices.begin(), spec.devices.end(),
                                                            [&](const DeviceSpec &d) { return d.name == name; });
            if (!known)
                logging::core().warn("--log-level {}=...: {} has no device named '{}' (the core's logger is 'vmm')",
                                     escaped(name), spec.file.string(), escaped(name));
        }
        if (report)
            ReportFile::set_machine(spec.name, spec.file.string()); // for a crash or a forced exit
        if (!options.control.empty())
            ControlServer::check_path(options.control); // before any VM exists
        // The debugger's address is opened before any VM exists: a busy port
        // or an unusable address is bad input.
        const bool gdb_wait = options.gdb_wait || spec.debug.wait;
        const std::string gdb_address = !options.gdb.empty() ? options.gdb : spec.debug.gdb.value_or("");
        if (options.gdb_wait && gdb_address.empty())
            throw InputError("--gdb-wait needs --gdb ADDRESS (or [debug] gdb = ADDRESS in the machine file)");
        UniqueFd gdb_listener;
        if (!gdb_address.empty())
            gdb_listener = gdb::open_listener(
                gdb_address, !options.gdb.empty() ? std::string("--gdb") : spec.debug.gdb_where.str() + ": [debug] gdb =");
        warn_about_plugin_path(options);
        PluginFinder plugins(paths::plugin_dirs(options.plugin_path));
        MachinePlan plan = plan_machine(spec, plugins);
        Machine machine(plan, plugins);
        facts.note_plugins(machine);
        std::optional<gdb::GdbStub> gdb_stub;
        if (gdb_listener.valid()) {
            gdb_stub.emplace(std::move(gdb_listener), gdb_address, machine, gdb_wait);
            machine.set_debugger(&*gdb_stub);
        }
        const StopRouter::Attachment attached(stops, machine.control());
        std::optional<ControlServer> control;
        if (!options.control.empty())
            control.emplace(options.control, [&machine, &facts](std::string_view line) {
                std::string reply = handle_control_request(line, machine);
                facts.note_control_reply(line, reply);
                return reply;
            });
        RunResult result = machine.run();
        control.reset(); // before the machine it talks to
        if (gdb_stub) {
            gdb_stub->finish(result.exit_status);
            gdb_stub.reset();
        }
        facts.note_plugins(machine); // plugins swapped in
        print_summary(result);
        const std::vector<CheckResult> checks = evaluate_checks(spec.checks, result.vcpus, machine.memory());
        std::size_t failed_checks = 0;
        for (const CheckResult &check : checks) {
            if (check.passed)
                logging::outcome().info("{}", check.describe());
            else
                logging::outcome().error("{}", check.describe());
            failed_checks += check.passed ? 0 : 1;
        }
        if (failed_checks != 0 && result.exit_status == kExitOk)
            result.exit_status = kExitFailure;
        print_stopped(result, failed_checks);
        if (report)
            report->write(report_json(spec, result, checks, &facts));
        return result.exit_status;
    } catch (const InputErrors &errors) {
        print_errors(errors);
        return kExitBadInput;
    } catch (const InputError &error) {
        print_errors(error);
        return kExitBadInput;
    } catch (const SystemError &error) {
        print_errors(error);
        return kExitFailure;
    }
}

// If vmm starts with stdin, stdout or stderr closed, the next file it opens
// (say /dev/kvm) would get that number, and guest output written to "stdout"
// would go into it. Park /dev/null on any of them that is closed.
void ensure_standard_fds()
{
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (opened >= 0 && opened != fd) {
            ::dup2(opened, fd);
            ::close(opened);
        }
    }
}

} // namespace

int main(int argc, char **argv)
{
    ensure_standard_fds();
    init_stderr_writer(); // before any thread: log lines never block on stderr
    // Whatever a device does to the terminal on stdin is undone on every
    // way out: returns from here, crashes, and the stop watcher's _exit.
    const TerminalGuard terminal_guard;
    // A crash (in a plugin, most likely) names the device and plugin, writes
    // what the report can honestly say, and restores the terminal.
    install_fatal_signal_handlers();
    // A reader of our output that goes away (`vmm ... | head`) must not kill
    // the VMM mid-run and lose every other device's output and the report:
    // writes fail with EPIPE instead, and devices log it.
    std::signal(SIGPIPE, SIG_IGN);
    block_stop_signals(); // before any thread: all inherit the mask
    const ParsedCommandLine parsed = parse_command_line(argc, argv);
    if (!parsed.options)
        return parsed.exit_status;
    try {
        if (parsed.options->command == Command::list_plugins) {
            // No VM to stop cleanly, and no watcher: a plugin whose entry
            // point never returns must not make Ctrl-C useless.
            unblock_stop_signals();
            logging::init(log_settings(*parsed.options));
            return list_plugins(*parsed.options);
        }
        if (parsed.options->command == Command::ctl) {
            unblock_stop_signals();
            return control_client_command(*parsed.options);
        }
        return run(*parsed.options);
    } catch (const std::exception &error) {
        std::cerr << "vmm: internal error: " << error.what() << std::endl;
        return kExitFailure;
    }
}
