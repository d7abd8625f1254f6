#include "support/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

namespace vmm::logging {
namespace {

std::atomic<spdlog::level::level_enum> g_level{spdlog::level::info};

spdlog::sink_ptr shared_sink()
{
    static const spdlog::sink_ptr sink = [] {
        auto s = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(spdlog::color_mode::automatic);
        s->set_pattern("[%n] %^%l%$: %v");
        return s;
    }();
    return sink;
}

} // namespace

std::shared_ptr<spdlog::logger> make_logger(const std::string &name)
{
    auto logger = std::make_shared<spdlog::logger>(name, shared_sink());
    logger->set_level(g_level.load());
    // stderr is unbuffered by contract: a crash must not eat the last lines.
    logger->flush_on(spdlog::level::trace);
    return logger;
}

spdlog::logger &core()
{
    static const std::shared_ptr<spdlog::logger> logger = make_logger("vmm");
    return *logger;
}

void init(spdlog::level::level_enum level) { set_level(level); }

void set_level(spdlog::level::level_enum level)
{
    g_level = level;
    core().set_level(level);
}

spdlog::level::level_enum level() { return g_level.load(); }

std::optional<spdlog::level::level_enum> parse_level(std::string_view name)
{
    static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
        {"warn", spdlog::level::warn},   {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
        {"off", spdlog::level::off},
    };
    for (const auto &[text, level] : kLevels) {
        if (text == name)
            return level;
    }
    return std::nullopt;
}

} // namespace vmm::logging
