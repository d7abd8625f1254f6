#include "core/fatal_signal.hpp"

#include "core/report_file.hpp"
#include "plugin/plugin_crash.hpp"
#include "support/signal_safe_text.hpp"
#include "support/stderr_writer.hpp"
#include "support/terminal_guard.hpp"

#include <dlfcn.h>
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstring>

namespace vmm {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

// The thread handling a fatal signal; another one that crashes meanwhile
// waits for it to end the process.
std::atomic<long> g_handling_thread{0};
volatile sig_atomic_t g_exit_status = kExitPluginCrashed;

// Static, not on the (alternate, 64 KiB) stack.
char g_where[PATH_MAX + 512];
char g_offset[PATH_MAX + 64];
char g_message[2 * PATH_MAX + 2048];

const char *signal_name(int signo)
{
    switch (signo) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    default: return "a fatal signal";
    }
}

extern "C" void exit_on_alarm(int) { ::_exit(g_exit_status); }

// Best effort, last: dladdr may take the loader's lock, which the crashed
// thread may hold. An alarm ends the process with the right status if so.
void print_symbol(const void *pc, bool offset_printed)
{
    struct sigaction alarm_action {};
    alarm_action.sa_handler = exit_on_alarm;
    sigemptyset(&alarm_action.sa_mask);
    ::sigaction(SIGALRM, &alarm_action, nullptr);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    ::alarm(1);
    Dl_info info{};
    if (::dladdr(pc, &info) != 0 && (info.dli_sname != nullptr || !offset_printed)) {
        char line[PATH_MAX + 512];
        SignalSafeText text(line, sizeof line);
        text.text("vmm:   pc ").hex(reinterpret_cast<uintptr_t>(pc)).text(" is in ");
        if (info.dli_sname != nullptr && info.dli_saddr != nullptr)
            text.text(info.dli_sname).text("+").hex(reinterpret_cast<uintptr_t>(pc) -
                                                    reinterpret_cast<uintptr_t>(info.dli_saddr)).text(", ");
        text.text(info.dli_fname != nullptr ? info.dli_fname : "?").text("+");
        text.hex(reinterpret_cast<uintptr_t>(pc) - reinterpret_cast<uintptr_t>(info.dli_fbase)).text("\n");
        write_stderr(text.c_str(), text.size());
    }
    ::alarm(0);
}

void reraise(int signo)
{
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(signo, &dfl, nullptr);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    ::raise(signo);
    ::_exit(128 + signo); // a signal that did not end us (cannot happen with SIG_DFL)
}

extern "C" void on_fatal_signal(int signo, siginfo_t *info, void *context)
{
    const long self = ::syscall(SYS_gettid);
    long expected = 0;
    if (!g_handling_thread.compare_exchange_strong(expected, self)) {
        if (expected == self)
            ::_exit(g_exit_status); // a fault while handling one: give up at once
        for (;;)
            ::pause(); // the first crash's handler ends the process
    }
    TerminalGuard::restore_now();

    // Sent from outside (kill -SEGV): nothing crashed; behave as the
    // signal's default action.
    if (info->si_code <= 0 && info->si_pid != ::getpid())
        reraise(signo);

    const auto *uc = static_cast<const ucontext_t *>(context);
    const void *pc = reinterpret_cast<const void *>(uc->uc_mcontext.gregs[REG_RIP]);
    const bool in_plugin = describe_plugin_crash(g_where, sizeof g_where, pc) != 0;
    const bool pc_in_plugin = plugin_offset_of(g_offset, sizeof g_offset, pc) != 0;
    g_exit_status = in_plugin ? kExitPluginCrashed : 128 + signo;

    SignalSafeText message(g_message, sizeof g_message);
    message.text(in_plugin ? g_where : "vmm itself").text(" crashed: ").text(signal_name(signo));
    if (signo == SIGABRT)
        message.text(" (abort() was called)");
    else if (signo == SIGSEGV || signo == SIGBUS)
        message.text(" accessing ").hex(reinterpret_cast<uintptr_t>(info->si_addr));
    message.text(" at pc ").hex(reinterpret_cast<uintptr_t>(pc));
    if (pc_in_plugin)
        message.text(" (").text(g_offset).text(")");
    write_stderr("vmm: ", 5);
    write_stderr(message.c_str(), message.size());
    write_stderr("\n", 1);

    ReportFile::write_minimal_now(g_exit_status, in_plugin ? "plugin crashed" : "vmm crashed", message.c_str());

    print_symbol(pc, pc_in_plugin);
    if (in_plugin)
        ::_exit(kExitPluginCrashed);
    reraise(signo);
}

} // namespace

void install_fatal_signal_handlers()
{
    ensure_alternate_signal_stack();
    struct sigaction action {};
    action.sa_sigaction = on_fatal_signal;
    sigemptyset(&action.sa_mask);
    // Every other fatal signal waits while one is handled.
    for (int signo : kFatalSignals)
        sigaddset(&action.sa_mask, signo);
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    for (int signo : kFatalSignals)
        ::sigaction(signo, &action, nullptr);
}

} // namespace vmm
