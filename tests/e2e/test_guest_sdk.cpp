// End to end: the installed guest SDK builds guests out of the tree, in each
// CPU mode, with CMake (find_package(VmmSdk) + vmm_add_guest) and with
// pkg-config, and they run; GCC 12's -Warray-bounds on a store to a low
// address and ld's executable-stack warning stay away (built with -Werror,
// the link's output checked).
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {

// One C source for every mode: the library's console and formatting, a
// spinlock, an MMIO store and a plain store to a low address (what GCC 12
// warned about), then main's 42 in EAX/RAX.
const char *const kGuestSource = R"(#include <stdint.h>
#include "console.h"
#include "format.h"
#include "io.h"
#include "mmio.h"
#include "spinlock.h"

static spinlock_t lock;

int main(void)
{
    char number[FMT_BUFFER_SIZE];
    spin_lock(&lock);
    number[fmt_dec(number, 6 * 7)] = '\0';
    debugcon_puts(GUEST_MODE " guest says ");
    debugcon_puts(number);
    debugcon_putc('\n');
    spin_unlock(&lock);
    mmio_write32(0x400, 42);
    *(volatile uint32_t *)0x404 = 7;
    return 42;
}
)";

const char *const kProject = R"(cmake_minimum_required(VERSION 3.20)
project(guests LANGUAGES C)
find_package(VmmSdk 1.4 REQUIRED)
foreach(mode real protected long)
  vmm_add_guest(sdk-${mode} MODE ${mode} SOURCES guest.c CFLAGS -Werror "-DGUEST_MODE=\"${mode}\"")
endforeach()
)";

std::string machine(const std::string &mode, const std::string &image)
{
    return "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"" + mode + "\"\n[[image]]\nfile = \"" + image +
           "\"\n[[device]]\nname = \"con\"\nplugin = \"console\"\n"
           "[[check]]\nregister = \"rax\"\nequals = 42\n"
           "[[check]]\nmemory = 0x400\nwidth = 4\nequals = 42\n"
           "[[check]]\nmemory = 0x404\nwidth = 4\nequals = 7\n";
}

} // namespace

TEST_CASE("guests build out of the tree against the installed guest SDK, in every mode, and run",
          "[e2e][sdk][guest-sdk]")
{
    TempDir dir("guest-sdk");
    const fs::path prefix = dir.path / "prefix";
    ProcessResult r = run_process({paths::cmake(), "--install", paths::build_dir(), "--prefix", prefix.string()});
    show(r);
    REQUIRE(r.exit_status == 0);
    REQUIRE(fs::exists(prefix / "include/vmm-guest/console.h"));
    REQUIRE(fs::exists(prefix / "include/vmm-guest/hypercall.h"));
    REQUIRE(fs::exists(prefix / "share/vmm/guest-sdk/start16.S"));
    REQUIRE(fs::exists(prefix / "share/vmm/examples/crc32/guest/crc32_demo.c"));

    const fs::path work = dir.path / "guests";
    fs::create_directories(work);
    std::ofstream(work / "guest.c") << kGuestSource;
    std::ofstream(work / "CMakeLists.txt") << kProject;
    ProcessOptions options;
    options.working_directory = work.string();
    options.timeout = std::chrono::minutes(3);
    r = run_process({paths::cmake(), "-S", ".", "-B", "build", "-DCMAKE_PREFIX_PATH=" + prefix.string(),
                     "-DCMAKE_C_COMPILER=" + paths::c_compiler()},
                    options);
    show(r);
    REQUIRE(r.exit_status == 0);
    r = run_process({paths::cmake(), "--build", "build", "--verbose"}, options);
    show(r);
    REQUIRE(r.exit_status == 0);
    CHECK_THAT(r.out + r.err, !Catch::Contains("executable stack"));
    CHECK_THAT(r.out + r.err, !Catch::Contains("warning"));

    for (const std::string mode : {"real", "protected", "long"}) {
        INFO(mode);
        const std::string image = "build/sdk-" + mode + ".elf";
        REQUIRE(fs::exists(work / image));
        std::ofstream(work / (mode + ".toml")) << machine(mode, image);
        r = run_process({(prefix / "bin/vmm").string(), "--config", mode + ".toml", "--timeout", "30"}, options);
        show(r);
        CHECK(r.exit_status == 0);
        CHECK(r.out == mode + " guest says 42\n");
    }

    // The same long-mode guest by hand, with the flags pkg-config gives.
    ProcessOptions pc = options;
    pc.environment["PKG_CONFIG_PATH"] = (prefix / "lib/pkgconfig").string();
    r = run_process(
        {"/bin/sh", "-c",
         "set -e; sdk=$(pkg-config --variable=guestsdkdir vmm-guest); mkdir -p pc; cd pc; "
         "for f in ../guest.c $sdk/start64.S $sdk/console.c $sdk/format.c; do "
         "gcc -c -m64 -mno-red-zone -mgeneral-regs-only -O2 -Wall -Werror '-DGUEST_MODE=\"long\"' "
         "$(pkg-config --cflags vmm-guest) $f; done; "
         "ld -m elf_x86_64 -nostdlib -z noexecstack --no-warn-rwx-segments -T $sdk/guest-long.ld -o guest.elf "
         "start64.o guest.o console.o format.o 2>&1"},
        pc);
    show(r);
    REQUIRE(r.exit_status == 0);
    CHECK(r.out.find("warning") == std::string::npos);
    std::ofstream(work / "pc.toml") << machine("long", "pc/guest.elf");
    r = run_process({(prefix / "bin/vmm").string(), "--config", "pc.toml", "--timeout", "30"}, options);
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(r.out == "long guest says 42\n");
}
