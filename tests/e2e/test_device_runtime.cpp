// End to end: the device runtime (ABI 1.4) seen from guests that take
// interrupts. The echo guest (configs/machines/echo.toml) sleeps in HLT
// and answers COM1's IRQ 4: its input comes from a real terminal typed into
// character by character (quit, SIGINT, Ctrl-A x; the terminal restored),
// from a pipe, from a UNIX socket vmm listens on, and from a socket that
// carries the output too (serial-file). The timer
// guest (configs/machines/timer.toml) counts ticks of the in-kernel PIT
// against the TSC.
#include "e2e_support.hpp"
#include "host_tsc.hpp"
#include "run_process.hpp"
#include "spawned_vmm.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <regex>
#include <thread>
#include <utility>

using namespace vmm::test;
using namespace std::chrono_literals;

namespace {

// Lines typed or sent to the echo guest, and what comes back for each.
const std::vector<std::string> kLines = {"hello", "Mixed Case 123", "the quick brown fox jumps over the lazy dog"};

std::string upper(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

// Collects what arrives on a descriptor (the pty master, a pipe) while the
// test waits for a text to appear in it. `strip_cr` drops every '\r': a
// terminal in vmm's raw mode keeps output post-processing (ONLCR), so the
// guest's "\r\n" shows as "\r\r\n" there.
class Collector {
public:
    explicit Collector(int fd, bool strip_cr = false) : fd_(fd), strip_cr_(strip_cr) {}
    const std::string &text() const { return text_; }

    // Reads until `what` has appeared after position `from` (returns where
    // it ends), or `limit` passed (returns npos).
    std::size_t wait_for(const std::string &what, std::size_t from = 0, std::chrono::milliseconds limit = 20s)
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            if (const auto at = text_.find(what, std::min(from, text_.size())); at != std::string::npos)
                return at + what.size();
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0 || !read_some(static_cast<int>(left.count())))
                return std::string::npos;
        }
    }
    // Reads whatever arrives within `limit`.
    void drain(std::chrono::milliseconds limit)
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (auto left = limit; left.count() > 0 && read_some(static_cast<int>(left.count()));)
            left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    }

private:
    bool read_some(int timeout_ms)
    {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0)
            return false;
        char buffer[4096];
        const ssize_t n = ::read(fd_, buffer, sizeof buffer);
        if (n <= 0)
            return false; // EOF, or EIO from a pty master whose slave is closed
        for (ssize_t i = 0; i < n; ++i) {
            if (!strip_cr_ || buffer[i] != '\r')
                text_ += buffer[i];
        }
        return true;
    }

    int fd_;
    bool strip_cr_;
    std::string text_;
};

// Writes `text` one byte at a time with pauses, as a person types.
void type(int fd, const std::string &text, std::chrono::milliseconds pause = 15ms)
{
    for (const char c : text) {
        REQUIRE(::write(fd, &c, 1) == 1);
        std::this_thread::sleep_for(pause);
    }
}

// The flags in hex, for a failure message.
std::string describe(const termios &t)
{
    char text[96];
    std::snprintf(text, sizeof text, "iflag %#x oflag %#x cflag %#x lflag %#x", t.c_iflag, t.c_oflag, t.c_cflag,
                  t.c_lflag);
    return text;
}

bool same_attributes(const termios &a, const termios &b)
{
    UNSCOPED_INFO("terminal attributes before: " << describe(b) << "; after: " << describe(a));
    return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag && a.c_lflag == b.c_lflag &&
           std::memcmp(a.c_cc, b.c_cc, sizeof a.c_cc) == 0 && cfgetispeed(&a) == cfgetispeed(&b) &&
           cfgetospeed(&a) == cfgetospeed(&b);
}

// A pseudo-terminal pair; the slave is what vmm gets as stdin/stdout/stderr.
struct Pty {
    int master = -1;
    int slave = -1;
    Pty()
    {
        master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        REQUIRE(master >= 0);
        REQUIRE(::grantpt(master) == 0);
        REQUIRE(::unlockpt(master) == 0);
        slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        REQUIRE(slave >= 0);
    }
    ~Pty()
    {
        ::close(slave);
        ::close(master);
    }
    termios attributes() const
    {
        termios t{};
        REQUIRE(::tcgetattr(slave, &t) == 0);
        return t;
    }
};

// With echo.toml running on the terminal: waits for its banner, types every
// line of kLines and checks that each comes back uppercased. Returns where the
// last echo ends in what the terminal showed.
std::size_t type_lines_on_terminal(Pty &pty, Collector &screen)
{
    std::size_t at = screen.wait_for("echo: ready\n");
    REQUIRE(at != std::string::npos);
    // vmm switched the terminal to raw mode before the guest ran: no line
    // editing, no local echo (the guest's echo is the only one).
    const termios running = pty.attributes();
    CHECK((running.c_lflag & ICANON) == 0);
    CHECK((running.c_lflag & ECHO) == 0);
    for (const std::string &line : kLines) {
        type(pty.master, line + "\r"); // Enter on a terminal sends CR
        at = screen.wait_for(upper(line) + "\n", at);
        INFO("typed: " << line);
        REQUIRE(at != std::string::npos);
    }
    CHECK(screen.text().find(kLines[0]) == std::string::npos); // nothing echoed but the guest's uppercase
    return at;
}

// echo.toml with another serial plugin and input, written to `dir`.
std::string echo_machine(const TempDir &dir, const std::string &plugin, const std::string &input_from)
{
    std::string text = read_file(std::filesystem::path(paths::configs_dir()) / "machines" / "echo.toml");
    for (const auto &[from, to] : {std::pair<std::string, std::string>{"plugin = \"serial\"", "plugin = \"" + plugin + "\""},
                                   {"input_from = \"stdin\"", "input_from = \"" + input_from + "\""}}) {
        const auto at = text.find(from);
        REQUIRE(at != std::string::npos);
        text.replace(at, from.size(), to);
    }
    return dir.write("echo-" + plugin + ".toml", text);
}

// A client connected to the UNIX socket at `path` once vmm created it
// (before the guest runs), or -1 after 10 s.
int connect_when_there(const std::string &path)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof address.sun_path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(client >= 0);
    for (int i = 0; i < 200; ++i) {
        if (::connect(client, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0)
            return client;
        std::this_thread::sleep_for(50ms);
    }
    ::close(client);
    return -1;
}

// vmm with stdin on /dev/null and its stdout and stderr collected; what it
// printed goes with the next failing check once it ended.
class Background {
public:
    explicit Background(const std::vector<std::string> &args)
    {
        int out[2], err[2];
        REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
        const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        vmm_ = std::make_unique<SpawnedVmm>(args, null, out[1], err[1]);
        ::close(null);
        ::close(out[1]);
        ::close(err[1]);
        out_fd_ = out[0];
        err_fd_ = err[0];
        out_ = std::make_unique<Collector>(out_fd_);
        err_ = std::make_unique<Collector>(err_fd_);
    }
    ~Background()
    {
        ::close(out_fd_);
        ::close(err_fd_);
    }
    Background(const Background &) = delete;
    Background &operator=(const Background &) = delete;

    Collector &out() { return *out_; }
    int wait()
    {
        const int status = vmm_->wait(20s);
        out_->drain(100ms);
        err_->drain(100ms);
        return status;
    }
    // What it printed, for INFO.
    std::string transcript() const { return "stdout:\n" + out_->text() + "\nstderr:\n" + err_->text(); }

private:
    std::unique_ptr<SpawnedVmm> vmm_;
    int out_fd_ = -1, err_fd_ = -1;
    std::unique_ptr<Collector> out_, err_;
};


} // namespace

TEST_CASE("echo on a terminal: typed lines come back uppercased, quit ends with 0, the terminal is restored",
          "[e2e][device-runtime]")
{
    Pty pty;
    const termios before = pty.attributes();
    SpawnedVmm vmm({"--config", "machines/echo.toml"}, pty.slave, pty.slave, pty.slave, true);
    Collector screen(pty.master, true);
    const std::size_t at = type_lines_on_terminal(pty, screen);
    type(pty.master, "quit\r");
    CHECK(screen.wait_for("echo: bye\n", at) != std::string::npos);
    const int status = vmm.wait(20s);
    screen.drain(200ms);
    INFO("the terminal showed:\n" << screen.text());
    CHECK(status == 0);
    CHECK(same_attributes(pty.attributes(), before));
}

TEST_CASE("echo on a terminal: SIGINT to vmm ends it with 130 and restores the terminal", "[e2e][device-runtime]")
{
    Pty pty;
    const termios before = pty.attributes();
    SpawnedVmm vmm({"--config", "machines/echo.toml"}, pty.slave, pty.slave, pty.slave, true);
    Collector screen(pty.master, true);
    type_lines_on_terminal(pty, screen);
    REQUIRE(::kill(vmm.pid(), SIGINT) == 0);
    const int status = vmm.wait(20s);
    screen.drain(200ms);
    INFO("the terminal showed:\n" << screen.text());
    CHECK(status == 130);
    CHECK(same_attributes(pty.attributes(), before));
}

TEST_CASE("echo on a terminal: Ctrl-A x quits vmm with 0 and restores the terminal", "[e2e][device-runtime]")
{
    Pty pty;
    const termios before = pty.attributes();
    SpawnedVmm vmm({"--config", "machines/echo.toml"}, pty.slave, pty.slave, pty.slave, true);
    Collector screen(pty.master, true);
    type_lines_on_terminal(pty, screen);
    type(pty.master, "\x01x"); // what echo.toml's comment tells a person to press
    const int status = vmm.wait(20s);
    screen.drain(200ms);
    INFO("the terminal showed:\n" << screen.text());
    CHECK(status == 0);
    CHECK(screen.text().find("echo: bye") == std::string::npos); // vmm stopped it, not the guest
    CHECK(same_attributes(pty.attributes(), before));
}

TEST_CASE("echo from a pipe: every line comes back uppercased, then quit ends with 0", "[e2e][device-runtime]")
{
    int in[2], out[2], err[2];
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    // All of it at once, before the guest runs, as `printf ... | vmm` does:
    // more than the UART's 16-byte FIFO, so the device must hold back input
    // until the guest made room rather than overrun.
    std::string input;
    for (const std::string &line : kLines)
        input += line + "\n";
    input += "quit\n";
    REQUIRE(::write(in[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
    ::close(in[1]);
    SpawnedVmm vmm({"--config", "machines/echo.toml"}, in[0], out[1], err[1]);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    Collector screen(out[0]), log(err[0]);
    std::size_t at = screen.wait_for("echo: ready\r\n");
    for (const std::string &line : kLines)
        at = screen.wait_for(upper(line) + "\r\n", at);
    CHECK(at != std::string::npos);
    CHECK(screen.wait_for("echo: bye\r\n") != std::string::npos);
    const int status = vmm.wait(20s);
    screen.drain(100ms);
    log.drain(100ms);
    INFO("stdout:\n" << screen.text() << "\nstderr:\n" << log.text());
    CHECK(status == 0);
    std::string expected = "echo: ready\r\n";
    for (const std::string &line : kLines)
        expected += upper(line) + "\r\n";
    CHECK(screen.text() == expected + "echo: bye\r\n");
    ::close(out[0]);
    ::close(err[0]);
}

TEST_CASE("echo from a UNIX socket vmm listens on: lines typed into it come back uppercased on stdout",
          "[e2e][device-runtime]")
{
    TempDir dir("echo-socket");
    const std::string socket_path = (dir.path / "in.sock").string();
    const std::string machine = echo_machine(dir, "serial", "listen:" + socket_path);
    Background vmm({"--config", machine});
    const int client = connect_when_there(socket_path);
    REQUIRE(client >= 0);
    Collector &screen = vmm.out();
    std::size_t at = screen.wait_for("echo: ready\r\n");
    for (const std::string &line : kLines) {
        type(client, line + "\n", 5ms);
        at = screen.wait_for(upper(line) + "\r\n", at);
    }
    type(client, "quit\n", 5ms);
    const std::size_t bye = screen.wait_for("echo: bye\r\n", at);
    const int status = vmm.wait();
    INFO(vmm.transcript());
    CHECK(at != std::string::npos);
    CHECK(bye != std::string::npos);
    CHECK(status == 0);
    ::close(client);
}

TEST_CASE("echo over a UNIX socket both ways (serial-file, listen): a console like `socat - UNIX-CONNECT:`",
          "[e2e][device-runtime]")
{
    TempDir dir("echo-console");
    const std::string socket_path = (dir.path / "console.sock").string();
    const std::string machine = echo_machine(dir, "serial-file", "listen:" + socket_path);
    Background vmm({"--config", machine});
    const int client = connect_when_there(socket_path);
    REQUIRE(client >= 0);
    // The banner was written before anyone connected: it waited for us.
    Collector console(client);
    std::size_t at = console.wait_for("echo: ready\r\n");
    for (const std::string &line : kLines) {
        type(client, line + "\r", 5ms);
        at = console.wait_for(upper(line) + "\r\n", at);
    }
    type(client, "quit\r", 5ms);
    const std::size_t bye = console.wait_for("echo: bye\r\n", at);
    const int status = vmm.wait();
    INFO(vmm.transcript() << "\nthe socket carried:\n" << console.text());
    CHECK(at != std::string::npos);
    CHECK(bye != std::string::npos);
    CHECK(status == 0);
    CHECK(vmm.out().text().empty()); // nothing on stdout: the socket is the console
    ::close(client);
}

TEST_CASE("timer: the in-kernel PIT ticks at the rate the guest programmed, measured with the TSC",
          "[e2e][device-runtime]")
{
    const ProcessResult r = run_machine("timer", {"--timeout", "60"});
    REQUIRE(r.exit_status == 0);
    std::smatch m;
    REQUIRE(std::regex_search(r.out, m, std::regex(R"(ticks=(\d+) tsc=(\d+) hz=(\d+))")));
    const double ticks = std::stod(m[1]), cycles = std::stod(m[2]), hz = std::stod(m[3]);
    REQUIRE(ticks > 0);
    REQUIRE(cycles > 0);
    const double tsc_hz = host_tsc_hz();
    // The PIT divides 1193182 Hz by an integer: the rate actually programmed.
    const double programmed = 1193182.0 / std::round(1193182.0 / hz);
    const double measured = ticks * tsc_hz / cycles;
    const double error = measured / programmed - 1;
    std::printf("timer: %.0f ticks in %.0f TSC cycles at %.0f Hz (host TSC): %.4f Hz, programmed %.4f Hz, error %+.3f%%\n",
                ticks, cycles, tsc_hz, measured, programmed, 100 * error);
    INFO("measured " << measured << " Hz, programmed " << programmed << " Hz, error " << 100 * error << "%");
    // KVM's PIT runs on a host hrtimer, so its period is exact; what is off
    // is when the first and the last tick reached the guest (the vCPU thread
    // waits for one of two shared, busy cores) and the host TSC rate, read
    // over 200 ms of sleep. 10% of the 2 s run is 200 ms of delay at the
    // ends: far beyond scheduling noise, yet a PIT at a wrong divisor, at
    // the wrong input clock or losing every other tick is caught.
    CHECK(std::abs(error) < 0.10);
}
