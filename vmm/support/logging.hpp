// Logging: every logger writes to one shared sink (stderr, or --log-file),
// so the guest's stdout stays clean and lines from several threads never
// interleave. Nothing here ever blocks: a line the destination does not take
// at once is dropped and counted.
//
// Quiet by default: the global level is `warn`, and the run's outcome (how
// the VM ended, each check's verdict) goes through outcome(), which prints
// at every level but `off`. Levels can be set per logger name (a device
// instance, or "vmm" for the core) from the command line or the machine
// file; the command line wins.
#pragma once

#include <spdlog/logger.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace vmm::logging {

inline constexpr spdlog::level::level_enum kDefaultLevel = spdlog::level::warn;

// What --log-level says: "debug", or "com1=debug,warn" (per-name levels and
// at most one global one, comma-separated).
struct LevelSpec {
    std::optional<spdlog::level::level_enum> global;
    std::map<std::string, spdlog::level::level_enum, std::less<>> by_name;
};
// Nothing, with `error` saying why, when the text is not such a list.
std::optional<LevelSpec> parse_level_spec(std::string_view text, std::string *error = nullptr);

struct Settings {
    spdlog::level::level_enum level = kDefaultLevel;
    std::map<std::string, spdlog::level::level_enum, std::less<>> by_name; // command line
    bool timestamps = false;
};

// Set up the shared sink and the "vmm" logger. Call once, early, before any
// logger is made.
void init(const Settings &settings);
void init(spdlog::level::level_enum level);
void set_level(spdlog::level::level_enum level);
spdlog::level::level_enum level();

// Log lines go to this already-open descriptor instead of stderr (outcome
// lines go to both). Throws InputError when it cannot be used.
void log_to_file(const std::string &path);

// A level a machine file gives one logger (`log = "debug"` in a [[device]]);
// a level given for the same name on the command line wins.
void set_file_level(const std::string &name, spdlog::level::level_enum level);

// "trace", "debug", "info", "warn" (or "warning"), "error", "critical", "off".
std::optional<spdlog::level::level_enum> parse_level(std::string_view name);

// The core's own logger.
spdlog::logger &core();

// The run's outcome ("stopped: ...", check verdicts): shown at every level
// but `off`, so the default output says how the VM ended and nothing more.
spdlog::logger &outcome();

// A logger for a device instance or plugin, named after it, on the shared
// sink, at the level set for its name or the global one.
std::shared_ptr<spdlog::logger> make_logger(const std::string &name);

} // namespace vmm::logging
