#include "support/logging.hpp"

#include "support/errors.hpp"
#include "support/paths.hpp"
#include "support/stderr_writer.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <string_view>

namespace vmm::logging {
namespace {

std::atomic<spdlog::level::level_enum> g_level{kDefaultLevel};

// Per-name levels: set before the machine's devices make their loggers, then
// only read (under the mutex: a swap makes a logger while vCPUs run).
std::mutex g_names_mutex;
std::map<std::string, spdlog::level::level_enum, std::less<>> g_command_line_levels;
std::map<std::string, spdlog::level::level_enum, std::less<>> g_file_levels;

// --log-file: a descriptor of our own, written without ever waiting (a FIFO
// is opened non-blocking; a regular file takes lines at once) and bounded, so
// a run that logs at `trace` for hours cannot fill the disk.
constexpr uint64_t kMaxLogFileBytes = 256ull << 20;
std::atomic<int> g_log_fd{-1};
std::atomic<uint64_t> g_log_file_bytes{0};

std::size_t write_log_file(const char *text, std::size_t size) noexcept
{
    const int fd = g_log_fd.load();
    if (fd < 0 || g_log_file_bytes.load() + size > kMaxLogFileBytes)
        return 0;
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::write(fd, text + done, size - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    g_log_file_bytes += done;
    return done;
}

// Log lines to stderr (or the log file) without ever blocking (see
// stderr_writer.hpp): a line not taken at once is dropped and counted, and
// the count is said as soon as lines are taken again. The level is coloured
// on a terminal, as spdlog's console sink does. The outcome sink writes to
// stderr always, and to the log file too when there is one.
class LogSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit LogSink(bool outcome) : outcome_(outcome), colour_(::isatty(STDERR_FILENO) == 1) {}

protected:
    void sink_it_(const spdlog::details::log_msg &msg) override
    {
        spdlog::memory_buf_t line;
        formatter_->format(msg, line);
        const std::string_view whole(line.data(), line.size());
        const bool to_file = g_log_fd.load() >= 0;
        if (to_file)
            write_to(whole, /*file=*/true);
        if (!to_file || outcome_) {
            std::string text;
            if (colour_ && msg.color_range_end > msg.color_range_start) {
                text.append(whole.substr(0, msg.color_range_start));
                text.append(colour_of(msg.level));
                text.append(whole.substr(msg.color_range_start, msg.color_range_end - msg.color_range_start));
                text.append("\033[m");
                text.append(whole.substr(msg.color_range_end));
            } else {
                text.assign(whole);
            }
            write_to(text, /*file=*/false);
        }
    }
    void flush_() override {}

private:
    void write_to(std::string_view text, bool file)
    {
        uint64_t &dropped = file ? dropped_file_ : dropped_stderr_;
        const auto write = [file](std::string_view t) {
            return file ? write_log_file(t.data(), t.size()) : write_stderr(t.data(), t.size());
        };
        if (dropped > 0) {
            const std::string notice = fmt::format("[vmm] warning: {} log line(s) dropped: {} did not keep up\n",
                                                   dropped, file ? "the log file" : "stderr");
            if (write(notice) == 0) {
                ++dropped;
                return;
            }
            dropped = 0;
        }
        if (write(text) == 0)
            ++dropped;
    }

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

    bool outcome_;
    bool colour_;
    uint64_t dropped_stderr_ = 0;
    uint64_t dropped_file_ = 0;
};

constexpr const char *kPattern = "[%n] %^%l%$: %v";
constexpr const char *kTimestampPattern = "%Y-%m-%d %H:%M:%S.%f [%n] %^%l%$: %v";

spdlog::sink_ptr log_sink()
{
    static const spdlog::sink_ptr sink = [] {
        auto s = std::make_shared<LogSink>(false);
        s->set_pattern(kPattern);
        return s;
    }();
    return sink;
}

spdlog::sink_ptr outcome_sink()
{
    static const spdlog::sink_ptr sink = [] {
        auto s = std::make_shared<LogSink>(true);
        s->set_pattern(kPattern);
        return s;
    }();
    return sink;
}

spdlog::level::level_enum level_for(std::string_view name)
{
    const std::lock_guard lock(g_names_mutex);
    if (auto it = g_command_line_levels.find(name); it != g_command_line_levels.end())
        return it->second;
    if (auto it = g_file_levels.find(name); it != g_file_levels.end())
        return it->second;
    return g_level.load();
}

} // namespace

std::shared_ptr<spdlog::logger> make_logger(const std::string &name)
{
    auto logger = std::make_shared<spdlog::logger>(name, log_sink());
    logger->set_level(level_for(name));
    // stderr is unbuffered by contract: a crash must not eat the last lines.
    logger->flush_on(spdlog::level::trace);
    return logger;
}

spdlog::logger &core()
{
    static const std::shared_ptr<spdlog::logger> logger = make_logger("vmm");
    return *logger;
}

spdlog::logger &outcome()
{
    static const std::shared_ptr<spdlog::logger> logger = [] {
        auto l = std::make_shared<spdlog::logger>("vmm", outcome_sink());
        l->flush_on(spdlog::level::trace);
        return l;
    }();
    return *logger;
}

void init(const Settings &settings)
{
    {
        const std::lock_guard lock(g_names_mutex);
        g_command_line_levels = settings.by_name;
    }
    if (settings.timestamps) {
        log_sink()->set_pattern(kTimestampPattern);
        outcome_sink()->set_pattern(kTimestampPattern);
    }
    set_level(settings.level);
}

void init(spdlog::level::level_enum level) { init(Settings{level, {}, false}); }

void set_level(spdlog::level::level_enum level)
{
    g_level = level;
    core().set_level(level_for("vmm"));
    outcome().set_level(level == spdlog::level::off ? spdlog::level::off : spdlog::level::trace);
}

spdlog::level::level_enum level() { return g_level.load(); }

void set_file_level(const std::string &name, spdlog::level::level_enum level)
{
    {
        const std::lock_guard lock(g_names_mutex);
        g_file_levels[name] = level;
    }
    if (name == "vmm")
        core().set_level(level_for("vmm"));
}

void log_to_file(const std::string &path)
{
    // A file, a FIFO (a log reader) or a character device (/dev/null); a
    // directory, block device or socket is refused as what it is.
    const auto kind = paths::non_regular_kind(path);
    if (kind && *kind != "a FIFO (named pipe)" && *kind != "a character device")
        throw InputError(fmt::format("--log-file {} is {}, not a file", path, *kind));
    // O_NONBLOCK: opening a FIFO nobody reads fails at once instead of
    // waiting for a reader, and writes to it never wait.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
    if (fd < 0)
        throw InputError(errno_message("--log-file: cannot open " + path, errno));
    g_log_fd = fd; // never closed: no write can race a close at exit
}

std::optional<spdlog::level::level_enum> parse_level(std::string_view name)
{
    static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
        {"warn", spdlog::level::warn},   {"warning", spdlog::level::warn}, {"error", spdlog::level::err},
        {"critical", spdlog::level::critical}, {"off", spdlog::level::off},
    };
    for (const auto &[text, level] : kLevels) {
        if (text == name)
            return level;
    }
    return std::nullopt;
}

std::optional<LevelSpec> parse_level_spec(std::string_view text, std::string *error)
{
    const auto fail = [error](std::string why) -> std::optional<LevelSpec> {
        if (error != nullptr)
            *error = std::move(why);
        return std::nullopt;
    };
    LevelSpec spec;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = text.find(',', start);
        const std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
        const std::size_t equals = item.find('=');
        const std::string_view level_text = equals == item.npos ? item : item.substr(equals + 1);
        const auto level = parse_level(level_text);
        if (!level)
            return fail(fmt::format("'{}' is not a level (trace, debug, info, warn, error, critical or off)",
                                    level_text));
        if (equals == item.npos) {
            if (spec.global)
                return fail("two global levels; give one, and NAME=LEVEL for the others");
            spec.global = level;
        } else {
            const std::string_view name = item.substr(0, equals);
            if (name.empty())
                return fail(fmt::format("'{}' names no device (write NAME=LEVEL, e.g. com1=debug)", item));
            spec.by_name[std::string(name)] = *level;
        }
        if (comma == std::string_view::npos)
            break;
        start = comma + 1;
    }
    return spec;
}

} // namespace vmm::logging
