// exit-loop benchmark: the cost of a port-I/O VM exit through `vmm`
// (exit table, address-space lookup, device lock, plugin call) against a
// bare KVM_RUN loop in this process, on the same guest, in the same run.
//
// Both run the pio-loop guest (N `out` instructions, then HLT). vmm is run
// twice, with N_small and N_large writes, and the difference divided by the
// difference in N cancels its start-up; the raw loop is timed the same way.
// Figures are ratios measured side by side: the machines are shared and
// noisy, absolute numbers are not comparable across runs.
//
// The same again from CPL 3: a 64-bit loop of `out` (mov $0x3f8, %dx; 1: out
// %al, (%dx); dec %rcx; jnz 1b; hlt), run by `vmm` with `[cpu] mode =
// "user"` and by the raw loop on the very tables vmm builds for that mode
// (boot/user_mode_tables.hpp: user pages, a TSS whose I/O bitmap allows
// the port). The final HLT faults at CPL 3 into the tables' stub, whose own
// HLT (at CPL 0) ends both.
//
// Usage: bench-exit-loop [N_large] [repetitions]
#include "bench_support.hpp"

#include "boot/user_mode_tables.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using bench::Clock;
using bench::median;

[[noreturn]] void die(const std::string &what)
{
    std::fprintf(stderr, "bench-exit-loop: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(1);
}

std::vector<uint8_t> read_guest()
{
    std::ifstream in(VMM_BENCH_GUEST_DIR "/pio-loop.bin", std::ios::binary);
    if (!in)
        die("cannot read pio-loop.bin");
    return {std::istreambuf_iterator<char>(in), {}};
}

// Runs the vCPU until its HLT, counting port exits, and returns the seconds
// it took; exits with a message (`what` first) on any other exit, or when
// the count is not `writes`. Shared by the CPL 0 and CPL 3 raw loops.
double time_port_exits(int vcpu, const kvm_run &run, uint64_t writes, const char *what)
{
    uint64_t exits = 0;
    const auto start = Clock::now();
    for (;;) {
        if (::ioctl(vcpu, KVM_RUN, 0) < 0)
            die("KVM_RUN");
        if (run.exit_reason == KVM_EXIT_IO) {
            ++exits;
            continue;
        }
        if (run.exit_reason == KVM_EXIT_HLT)
            break;
        std::fprintf(stderr, "%s: unexpected exit %u\n", what, run.exit_reason);
        std::exit(1);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (exits != writes) {
        std::fprintf(stderr, "%s: %lu exits for %lu writes\n", what, (unsigned long)exits, (unsigned long)writes);
        std::exit(1);
    }
    return seconds;
}

// Seconds for one raw run of `writes` exits: a minimal KVM host, as in the
// kvm-hello-world seed, with only an exit-reason check in its loop.
double raw_run(const std::vector<uint8_t> &code, uint64_t writes)
{
    const int kvm = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        die("/dev/kvm");
    const int vm = ::ioctl(kvm, KVM_CREATE_VM, 0UL);
    if (vm < 0)
        die("KVM_CREATE_VM");
    ::ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL);
    const size_t mem_size = 0x2000;
    auto *mem = static_cast<uint8_t *>(
        ::mmap(nullptr, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    std::memcpy(mem + 0x1000, code.data(), code.size());
    kvm_userspace_memory_region region{0, 0, 0, mem_size, reinterpret_cast<uint64_t>(mem)};
    if (::ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        die("KVM_SET_USER_MEMORY_REGION");
    const int vcpu = ::ioctl(vm, KVM_CREATE_VCPU, 0UL);
    const int run_size = ::ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    auto *run = static_cast<kvm_run *>(::mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0));
    kvm_sregs sregs{};
    ::ioctl(vcpu, KVM_GET_SREGS, &sregs);
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    ::ioctl(vcpu, KVM_SET_SREGS, &sregs);
    kvm_regs regs{};
    regs.rip = 0x1000;
    regs.rcx = writes;
    regs.rflags = 2;
    ::ioctl(vcpu, KVM_SET_REGS, &regs);

    const double seconds = time_port_exits(vcpu, *run, writes, "raw loop");
    ::munmap(run, run_size);
    ::munmap(mem, mem_size);
    ::close(vcpu);
    ::close(vm);
    ::close(kvm);
    return seconds;
}

// The CPL 3 loop (see the top of this file), at 0x1000.
const std::vector<uint8_t> kUserLoop = {0x66, 0xba, 0xf8, 0x03, 0xee, 0x48, 0xff, 0xc9, 0x75, 0xfa, 0xf4};
constexpr uint64_t kUserRam = 0x100000;
constexpr uint64_t kUserTables = 0x80000;

kvm_segment user_segment(uint16_t selector, bool code)
{
    kvm_segment s{};
    s.limit = 0xffffffff;
    s.selector = selector;
    s.type = code ? 0xb : 0x3;
    s.present = 1;
    s.dpl = 3;
    s.db = code ? 0 : 1;
    s.s = 1;
    s.l = code ? 1 : 0;
    s.g = 1;
    return s;
}

// Seconds for one raw run of `writes` exits from CPL 3, on vmm's own
// user-mode tables (so only the exit path differs from vmm's).
double raw_user_run(uint64_t writes)
{
    namespace user = vmm::x86::user;
    const int kvm = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        die("/dev/kvm");
    const int vm = ::ioctl(kvm, KVM_CREATE_VM, 0UL);
    if (vm < 0)
        die("KVM_CREATE_VM");
    ::ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL);
    auto *mem = static_cast<uint8_t *>(
        ::mmap(nullptr, kUserRam, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    std::memcpy(mem + 0x1000, kUserLoop.data(), kUserLoop.size());
    const user::Layout layout(kUserTables, 4, 1);
    const std::vector<uint8_t> area = user::build_system_area(layout);
    if (kUserTables + area.size() > kUserRam)
        die("the user-mode tables do not fit");
    std::memcpy(mem + kUserTables, area.data(), area.size());
    kvm_userspace_memory_region region{0, 0, 0, kUserRam, reinterpret_cast<uint64_t>(mem)};
    if (::ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        die("KVM_SET_USER_MEMORY_REGION");
    const int vcpu = ::ioctl(vm, KVM_CREATE_VCPU, 0UL);
    const int run_size = ::ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    auto *run = static_cast<kvm_run *>(::mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0));
    kvm_sregs sregs{};
    ::ioctl(vcpu, KVM_GET_SREGS, &sregs);
    // As vmm's cpu_setup.cpp does for mode = "user".
    sregs.cs = user_segment(user::kUserCodeSelector, true);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = user_segment(user::kUserDataSelector, false);
    sregs.gdt.base = layout.gdt();
    sregs.gdt.limit = user::kGdtBytes - 1;
    sregs.idt.base = layout.idt();
    sregs.idt.limit = user::kVectors * 16 - 1;
    sregs.cr3 = layout.pml4();
    sregs.cr4 = 0x20 | 0x200 | 0x400;                                      // PAE, OSFXSR, OSXMMEXCPT
    sregs.efer = 0x100 | 0x400;                                            // LME, LMA
    sregs.cr0 = 0x1 | 0x2 | 0x10 | 0x20 | 0x10000 | 0x80000000u;           // PE, MP, ET, NE, WP, PG
    kvm_segment tr{};
    tr.base = layout.tss(0);
    tr.limit = layout.tss_limit(0);
    tr.selector = user::kTssSelector;
    tr.type = 0xb;
    tr.present = 1;
    sregs.tr = tr;
    if (::ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        die("KVM_SET_SREGS");
    kvm_regs regs{};
    regs.rip = 0x1000;
    regs.rcx = writes;
    regs.rsp = 0x70000;
    regs.rflags = 2;
    ::ioctl(vcpu, KVM_SET_REGS, &regs);

    const double seconds = time_port_exits(vcpu, *run, writes, "raw CPL 3 loop");
    ::munmap(run, run_size);
    ::munmap(mem, kUserRam);
    ::close(vcpu);
    ::close(vm);
    ::close(kvm);
    return seconds;
}

// Seconds for a whole `vmm` process running `writes` exits from CPL 3.
// Its HLT at CPL 3 ends the vCPU (mode = "user"), exit status 0.
double vmm_user_run(uint64_t writes)
{
    const bench::ScratchDir dir("exit-loop-user");
    const std::string image = dir.path() + "/user-loop.bin";
    std::ofstream(image, std::ios::binary).write(reinterpret_cast<const char *>(kUserLoop.data()),
                                                 static_cast<std::streamsize>(kUserLoop.size()));
    const std::string machine = dir.path() + "/user-loop.toml";
    std::ofstream(machine) << "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"user\"\nentry = 0x1000\n"
                           << "registers = { rcx = " << writes << ", rsp = 0x70000 }\n"
                           << "[[image]]\nfile = \"user-loop.bin\"\naddress = 0x1000\n"
                           << "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n";
    const bench::VmmRun run = bench::time_vmm(machine, {}, "/dev/null", dir.path() + "/stderr.txt");
    if (!run.ok()) {
        std::ifstream in(dir.path() + "/stderr.txt");
        std::fprintf(stderr, "vmm (mode = \"user\") failed (status %d):\n%s\n", run.wait_status,
                     std::string(std::istreambuf_iterator<char>(in), {}).c_str());
        std::exit(1);
    }
    return run.seconds;
}

// Seconds for a whole `vmm` process running `writes` exits.
double vmm_run(uint64_t writes)
{
    const bench::ScratchDir dir("exit-loop");
    const std::string machine = dir.path() + "/pio-loop.toml";
    std::ofstream(machine) << bench::pio_loop_machine(writes);
    const bench::VmmRun run = bench::time_vmm(machine);
    if (!run.ok()) {
        std::fprintf(stderr, "vmm failed (status %d)\n", run.wait_status);
        std::exit(1);
    }
    return run.seconds;
}

} // namespace

int main(int argc, char **argv)
{
    const uint64_t large = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
    const int repetitions = argc > 2 ? std::atoi(argv[2]) : 5;
    const uint64_t small = large / 10;
    const std::vector<uint8_t> code = read_guest();

    // Interleave the four measurements so that drift hits all of them alike.
    std::vector<double> raw_small, raw_large, vmm_small, vmm_large;
    for (int i = 0; i < repetitions; ++i) {
        raw_small.push_back(raw_run(code, small));
        raw_large.push_back(raw_run(code, large));
        vmm_small.push_back(vmm_run(small));
        vmm_large.push_back(vmm_run(large));
    }
    const double n = static_cast<double>(large - small);
    const double raw_per_exit = (median(raw_large) - median(raw_small)) / n;
    const double vmm_per_exit = (median(vmm_large) - median(vmm_small)) / n;

    std::printf("port-write exits, %lu vs %lu writes, median of %d runs each\n", (unsigned long)large,
                (unsigned long)small, repetitions);
    std::printf("%-28s %14s %14s\n", "", "exits/s", "us/exit");
    std::printf("%-28s %14.0f %14.3f\n", "raw KVM_RUN loop", 1.0 / raw_per_exit, raw_per_exit * 1e6);
    std::printf("%-28s %14.0f %14.3f\n", "vmm (serial plugin)", 1.0 / vmm_per_exit, vmm_per_exit * 1e6);
    std::printf("vmm / raw time per exit: %.3f (vmm adds %.3f us per exit)\n", vmm_per_exit / raw_per_exit,
                (vmm_per_exit - raw_per_exit) * 1e6);

    // From CPL 3 (each OUT there goes through KVM's emulator for the TSS
    // I/O bitmap on this host: slower exits, same comparison).
    const uint64_t user_large = large / 4, user_small = user_large / 10;
    std::vector<double> uraw_small, uraw_large, uvmm_small, uvmm_large;
    for (int i = 0; i < repetitions; ++i) {
        uraw_small.push_back(raw_user_run(user_small));
        uraw_large.push_back(raw_user_run(user_large));
        uvmm_small.push_back(vmm_user_run(user_small));
        uvmm_large.push_back(vmm_user_run(user_large));
    }
    const double un = static_cast<double>(user_large - user_small);
    const double uraw = (median(uraw_large) - median(uraw_small)) / un;
    const double uvmm = (median(uvmm_large) - median(uvmm_small)) / un;
    std::printf("\nfrom CPL 3 (mode = \"user\"), %lu vs %lu writes, median of %d runs each\n",
                (unsigned long)user_large, (unsigned long)user_small, repetitions);
    std::printf("%-28s %14s %14s\n", "", "exits/s", "us/exit");
    std::printf("%-28s %14.0f %14.3f\n", "raw KVM_RUN loop, CPL 3", 1.0 / uraw, uraw * 1e6);
    std::printf("%-28s %14.0f %14.3f\n", "vmm (serial plugin), CPL 3", 1.0 / uvmm, uvmm * 1e6);
    std::printf("vmm / raw time per exit at CPL 3: %.3f (vmm adds %.3f us per exit); raw exit rate vmm/raw: %.3f\n",
                uvmm / uraw, (uvmm - uraw) * 1e6, uraw / uvmm);
    return 0;
}
