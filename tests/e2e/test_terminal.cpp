// The terminal on stdin: with input_from = "stdin", the serial device puts
// it in raw mode (Ctrl-C goes to the guest, Ctrl-A x quits), and vmm gives
// it back as it was on every way out: a normal stop, a crash, a second
// signal that ends the process at once. vmm runs on a pseudo-terminal.
#include "e2e_support.hpp"
#include "spawned_vmm.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

using namespace vmm::test;
using namespace std::chrono_literals;

namespace {

// vmm on a new pseudo-terminal (its stdin and stdout; stderr to a file),
// running a guest that streams for hours and polls LSR all the time.
class PtyVmm {
public:
    explicit PtyVmm(TempDir &dir)
    {
        master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        REQUIRE(master_ >= 0);
        REQUIRE(::grantpt(master_) == 0);
        REQUIRE(::unlockpt(master_) == 0);
        const std::string slave_name = ::ptsname(master_);
        slave_ = ::open(slave_name.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
        REQUIRE(slave_ >= 0);
        const std::string machine =
            dir.write("pty.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\nregisters = { rbx = 1000000000 }\n"
                                  "[[image]]\nfile = \"counter.elf\"\n"
                                  "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n"
                                  "settings = { input_from = \"stdin\" }\n");
        err_path_ = (dir.path / "stderr.txt").string();
        err_ = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        REQUIRE(err_ >= 0);
        vmm_ = std::make_unique<SpawnedVmm>(std::vector<std::string>{"--config", machine}, slave_, slave_, err_,
                                            /*terminal=*/true);
        // Keep the terminal's output flowing, as a terminal emulator would.
        reader_ = std::thread([this] {
            char buffer[4096];
            while (!stop_reading_ && ::read(master_, buffer, sizeof buffer) > 0) {
            }
        });
    }
    ~PtyVmm()
    {
        vmm_.reset(); // killed if it still runs
        ::close(err_);
        stop_reading_ = true;
        ::close(slave_); // the reader's read() then ends
        if (reader_.joinable())
            reader_.join();
        ::close(master_);
    }

    termios attributes() const
    {
        termios t{};
        ::tcgetattr(slave_, &t);
        return t;
    }
    bool raw() const { return (attributes().c_lflag & (ECHO | ICANON | ISIG)) == 0; }
    bool cooked() const
    {
        const termios t = attributes();
        return (t.c_lflag & (ECHO | ICANON | ISIG)) == (ECHO | ICANON | ISIG) && (t.c_iflag & ICRNL) != 0;
    }
    bool wait_until_raw()
    {
        for (int i = 0; i < 500; ++i) {
            if (raw())
                return true;
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }
    void type(const std::string &keys) { REQUIRE(::write(master_, keys.data(), keys.size()) == static_cast<ssize_t>(keys.size())); }
    void signal(int signo) { ::kill(vmm_->pid(), signo); }

    // The wait status, or -1 after 10 s.
    int wait() { return vmm_->wait_status(10s).value_or(-1); }
    std::string err() const { return read_file(err_path_); }

private:
    int master_ = -1;
    int slave_ = -1;
    std::string err_path_;
    int err_ = -1;
    std::unique_ptr<SpawnedVmm> vmm_;
    std::atomic<bool> stop_reading_{false};
    std::thread reader_;
};

} // namespace

TEST_CASE("terminal: raw while the guest runs, Ctrl-C goes to the guest, Ctrl-A x quits, restored after",
          "[e2e][terminal]")
{
    TempDir dir("pty-quit");
    PtyVmm vmm(dir);
    REQUIRE(vmm.wait_until_raw());
    vmm.type("\x03"); // no ISIG: a byte for the guest, not SIGINT
    std::this_thread::sleep_for(200ms);
    vmm.type("\x01h\x01x");
    const int status = vmm.wait();
    INFO(vmm.err());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK_THAT(vmm.err(), Catch::Contains("Ctrl-A x: quit"));
    CHECK_THAT(vmm.err(), Catch::Contains("stopped: device 'com1' asked to stop with status 0"));
    CHECK(vmm.cooked());
}

TEST_CASE("terminal: restored after a crash, which still ends the process with its signal", "[e2e][terminal]")
{
    for (int signo : {SIGSEGV, SIGABRT}) {
        TempDir dir("pty-crash");
        PtyVmm vmm(dir);
        REQUIRE(vmm.wait_until_raw());
        vmm.signal(signo);
        const int status = vmm.wait();
        INFO("signal " << signo << "\n" << vmm.err());
        REQUIRE(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == signo);
        CHECK(vmm.cooked());
    }
}

TEST_CASE("terminal: restored after SIGTERM, and after two SIGINTs at once (one request delivered twice)",
          "[e2e][terminal]")
{
    {
        TempDir dir("pty-term");
        PtyVmm vmm(dir);
        REQUIRE(vmm.wait_until_raw());
        vmm.signal(SIGTERM);
        const int status = vmm.wait();
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 143);
        CHECK(vmm.cooked());
    }
    {
        TempDir dir("pty-twice");
        PtyVmm vmm(dir);
        REQUIRE(vmm.wait_until_raw());
        vmm.signal(SIGINT);
        vmm.signal(SIGINT);
        const int status = vmm.wait();
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 130);
        CHECK(vmm.cooked());
    }
}
