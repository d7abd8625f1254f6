// Logging: every logger writes to one shared stderr sink, so the guest's
// stdout stays clean and lines from several threads never interleave.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace vmm::logging {

// Set up the shared sink and the "vmm" logger. Call once, early.
void init(spdlog::level::level_enum level);
void set_level(spdlog::level::level_enum level);
spdlog::level::level_enum level();

// "trace", "debug", "info", "warn", "error", "critical", "off".
std::optional<spdlog::level::level_enum> parse_level(std::string_view name);

// The core's own logger.
spdlog::logger &core();

// A logger for a device instance or plugin, named after it, on the shared sink.
std::shared_ptr<spdlog::logger> make_logger(const std::string &name);

} // namespace vmm::logging
