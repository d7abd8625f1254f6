#include "device_host/sandbox.hpp"

#include "device_host/passed_files.hpp"
#include "isolation/wire.hpp"

#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>

namespace vmm::device_host {
namespace {

int g_channel = -1;
int g_own_maps = -1; // /proc/self/maps, opened before the filter

// The attempt, reported on the channel (a prepared message, sent with one
// sendmsg, async-signal-safe), then the end of the process with SIGSYS, as
// the kill action would have done.
[[noreturn]] void report_violation(const char *text, std::size_t n)
{
    // The message a Writer would build: header {msg_sandbox_violation, 0}, u32 length, bytes.
    uint8_t message[sizeof(isolation::MessageHeader) + 4 + 300];
    n = n < 300 ? n : 300;
    const isolation::MessageHeader header{isolation::msg_sandbox_violation, 0};
    std::memcpy(message, &header, sizeof header);
    const auto length = static_cast<uint32_t>(n);
    std::memcpy(message + sizeof header, &length, 4);
    std::memcpy(message + sizeof header + 4, text, n);
    ::send(g_channel, message, sizeof header + 4 + n, MSG_NOSIGNAL | MSG_DONTWAIT);
    ::signal(SIGSYS, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSYS);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::syscall(SYS_tgkill, ::getpid(), ::syscall(SYS_gettid), SIGSYS);
    _exit(128 + SIGSYS);
}

// `call("path")`, the path cut at 200 bytes.
[[noreturn]] void report_path(const char *call, const char *path)
{
    char text[300];
    std::size_t n = 0;
    for (const char *p = call; *p != '\0' && n < 40; ++p)
        text[n++] = *p;
    text[n++] = '(';
    text[n++] = '"';
    for (std::size_t i = 0; path != nullptr && path[i] != '\0' && i < 200; ++i)
        text[n++] = path[i];
    text[n++] = '"';
    text[n++] = ')';
    report_violation(text, n);
}

// socket(): an AF_UNIX stream socket gets a placeholder, so that the connect()
// that follows can be answered with a socket vmm connected (passed_files.hpp),
// or reported with its path; any other kind is reported at once.
// connect(): answered with vmm's socket for that path, or reported.
void on_socket_call(long number, greg_t *regs)
{
    long result = 0;
    if (number == SYS_socket) {
        if (socket_placeholder(regs[REG_RDI], regs[REG_RSI], result)) {
            regs[REG_RAX] = result;
            return;
        }
        char text[64];
        std::size_t n = 0;
        for (const char *p = "socket(domain "; *p != '\0'; ++p)
            text[n++] = *p;
        unsigned long domain = static_cast<unsigned long>(regs[REG_RDI]) & 0xffff;
        char digits[8];
        std::size_t d = 0;
        do
            digits[d++] = static_cast<char>('0' + domain % 10);
        while ((domain /= 10) != 0 && d < sizeof digits);
        while (d > 0)
            text[n++] = digits[--d];
        text[n++] = ')';
        report_violation(text, n);
    }
    // connect(fd, address, length): the path of an AF_UNIX address, bounded.
    char path[sizeof(sockaddr_un::sun_path) + 1] = {};
    const auto *address = reinterpret_cast<const sockaddr_un *>(regs[REG_RSI]);
    const auto length = static_cast<std::size_t>(regs[REG_RDX]);
    if (address != nullptr && length > offsetof(sockaddr_un, sun_path) && address->sun_family == AF_UNIX) {
        const std::size_t max = length - offsetof(sockaddr_un, sun_path);
        for (std::size_t i = 0; i < max && i < sizeof address->sun_path && address->sun_path[i] != '\0'; ++i)
            path[i] = address->sun_path[i];
    }
    if (connect_passed_socket(path, static_cast<int>(regs[REG_RDI]), result)) {
        regs[REG_RAX] = result;
        return;
    }
    report_path("connect", path);
}

// SIGSYS from the filter's trap on open/openat (and socket/connect, above).
// The SDK's output code reopens /proc/self/fd/N to get a non-blocking
// description of a pipe, and falls back when that fails: that one attempt
// fails with EACCES. Any other path is a plugin reaching for the file
// system: it is reported and the process ends with SIGSYS.
void on_sigsys(int, siginfo_t *info, void *context)
{
    auto *uc = static_cast<ucontext_t *>(context);
    greg_t *regs = uc->uc_mcontext.gregs;
    const long number = info->si_syscall;
    if (number == SYS_socket || number == SYS_connect)
        return on_socket_call(number, regs);
    const char *path = reinterpret_cast<const char *>(number == SYS_open ? regs[REG_RDI] : regs[REG_RSI]);
    const auto flags = static_cast<int>(number == SYS_open ? regs[REG_RSI] : regs[REG_RDX]);
    // Its own memory map: harmless to the process it describes, and what
    // the sanitizer runtimes read to name modules in a report. One
    // description, rewound (its content is made at read time).
    if (path != nullptr && g_own_maps >= 0 && std::strcmp(path, "/proc/self/maps") == 0) {
        ::lseek(g_own_maps, 0, SEEK_SET);
        const int copy = ::fcntl(g_own_maps, F_DUPFD_CLOEXEC, 0);
        regs[REG_RAX] = copy >= 0 ? copy : -errno;
        return;
    }
    // A file vmm opened for a path setting (passed_files.hpp).
    if (long result = 0; open_passed_file(path, flags, result)) {
        regs[REG_RAX] = result;
        return;
    }
    // Reads the C library and the SDK make on their own, each with a fallback:
    // the SDK's reopening of a pipe, glibc's CPU count for a new thread's
    // malloc arena (get_nprocs).
    static const char *const kRefusedQuietly[] = {"/proc/self/fd/", "/sys/devices/system/cpu/", "/proc/stat"};
    for (const char *prefix : kRefusedQuietly) {
        if (path != nullptr && std::strncmp(path, prefix, std::strlen(prefix)) == 0) {
            regs[REG_RAX] = -EACCES;
            return;
        }
    }
    report_path(number == SYS_open ? "open" : "openat", path);
}

void allow(scmp_filter_ctx filter, int syscall)
{
    if (const int rc = seccomp_rule_add(filter, SCMP_ACT_ALLOW, syscall, 0); rc != 0)
        throw std::runtime_error("seccomp_rule_add: " + std::string(std::strerror(-rc)));
}

} // namespace

void enter_sandbox(int channel)
{
    g_channel = channel;
    g_own_maps = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        throw std::runtime_error("prctl(PR_SET_NO_NEW_PRIVS): " + std::string(std::strerror(errno)));
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    const rlimit files{256, 256};
    ::setrlimit(RLIMIT_NOFILE, &files);

    struct sigaction action{};
    action.sa_sigaction = on_sigsys;
    action.sa_flags = SA_SIGINFO;
    ::sigaction(SIGSYS, &action, nullptr);

    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (filter == nullptr)
        throw std::runtime_error("seccomp_init failed");
    try {
        // Every thread: the channel's threads exist already.
        if (const int rc = seccomp_attr_set(filter, SCMP_FLTATR_CTL_TSYNC, 1); rc != 0)
            throw std::runtime_error("seccomp thread synchronisation: " + std::string(std::strerror(-rc)));
        // Memory, threads, time, futexes, signals to itself, the descriptors it holds.
        for (int syscall : {SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
                            SCMP_SYS(pwrite64), SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fstat),
                            SCMP_SYS(newfstatat), SCMP_SYS(fcntl), SCMP_SYS(dup), SCMP_SYS(dup3),
                            SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap),
                            SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(futex), SCMP_SYS(set_robust_list),
                            SCMP_SYS(rseq), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
                            SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep),
                            SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(getpid), SCMP_SYS(gettid),
                            SCMP_SYS(getrandom), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
                            SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall),
                            SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(poll), SCMP_SYS(ppoll),
                            SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
                            SCMP_SYS(epoll_pwait), SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
                            SCMP_SYS(timerfd_gettime), SCMP_SYS(eventfd2), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
                            SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(getsockopt), SCMP_SYS(memfd_create),
                            SCMP_SYS(ftruncate), SCMP_SYS(prlimit64), SCMP_SYS(getrlimit),
                            // A pipe reaches nothing outside the process. The sanitizer runtimes
                            // probe whether memory is readable by writing it into one
                            // (IsAccessibleMemoryRange, UBSan's vptr check).
                            SCMP_SYS(pipe), SCMP_SYS(pipe2)})
            allow(filter, syscall);
        // Threads only (no new processes); clone3's flags are out of reach of
        // a filter, so it fails with ENOSYS and glibc falls back to clone.
        seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
        seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        // Signals to itself only (abort(), raise()).
        seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                         SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(::getpid())));
        // Terminal queries (isatty, window size, bytes waiting) on descriptors it holds.
        for (unsigned long request : {TCGETS, TIOCGWINSZ, FIONREAD})
            seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, request));
        for (int option : {PR_SET_NAME, PR_SET_TIMERSLACK})
            seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(option)));
        // Opening files: reported by name, then killed (see on_sigsys).
        seccomp_rule_add(filter, SCMP_ACT_TRAP, SCMP_SYS(open), 0);
        seccomp_rule_add(filter, SCMP_ACT_TRAP, SCMP_SYS(openat), 0);
        // Sockets: answered with those vmm connected, else reported (on_socket_call).
        seccomp_rule_add(filter, SCMP_ACT_TRAP, SCMP_SYS(socket), 0);
        seccomp_rule_add(filter, SCMP_ACT_TRAP, SCMP_SYS(connect), 0);
        if (const int rc = seccomp_load(filter); rc != 0)
            throw std::runtime_error("the kernel refused the seccomp filter: " + std::string(std::strerror(-rc)));
    } catch (...) {
        seccomp_release(filter);
        throw;
    }
    seccomp_release(filter);
}

} // namespace vmm::device_host
