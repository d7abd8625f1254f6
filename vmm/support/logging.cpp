#include "support/logging.hpp"

#include "support/stderr_writer.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string_view>

namespace vmm::logging {
namespace {

std::atomic<spdlog::level::level_enum> g_level{spdlog::level::info};

// Log lines to stderr without ever blocking (see stderr_writer.hpp): a
// line stderr does not take at once is dropped and counted, and the count
// is said as soon as stderr takes lines again. The level is coloured on a
// terminal, as spdlog's console sink does.
class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    StderrSink() : colour_(::isatty(STDERR_FILENO) == 1) {}

protected:
    void sink_it_(const spdlog::details::log_msg &msg) override
    {
        spdlog::memory_buf_t line;
        formatter_->format(msg, line);
        if (dropped_ > 0) {
            const std::string notice =
                fmt::format("[vmm] warning: {} log line(s) dropped: stderr did not keep up\n", dropped_);
            if (write_stderr(notice.data(), notice.size()) == 0) {
                ++dropped_;
                return;
            }
            dropped_ = 0;
        }
        std::string text;
        const std::string_view whole(line.data(), line.size());
        if (colour_ && msg.color_range_end > msg.color_range_start) {
            text.append(whole.substr(0, msg.color_range_start));
            text.append(colour_of(msg.level));
            text.append(whole.substr(msg.color_range_start, msg.color_range_end - msg.color_range_start));
            text.append("\033[m");
            text.append(whole.substr(msg.color_range_end));
        } else {
            text.assign(whole);
        }
        if (write_stderr(text.data(), text.size()) == 0)
            ++dropped_;
    }
    void flush_() override {}

private:
    static const char *colour_of(spdlog::level::level_enum level)
    {
        switch (level) {
        case spdlog::level::trace: return "\033[37m";
        case spdlog::level::debug: return "\033[36m";
        case spdlog::level::info: return "\033[32m";
        case spdlog::level::warn: return "\033[33m\033[1m";
        case spdlog::level::err: return "\033[31m\033[1m";
        case spdlog::level::critical: return "\033[1m\033[41m";
        default: return "";
        }
    }

    bool colour_;
    uint64_t dropped_ = 0;
};

spdlog::sink_ptr shared_sink()
{
    static const spdlog::sink_ptr sink = [] {
        auto s = std::make_shared<StderrSink>();
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
