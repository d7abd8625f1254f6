// End to end: the Debian packages. CPack builds `vmm` and `vmm-dev` (and
// their -dbgsym packages) from the build tree under test; both are unpacked
// into a scratch root, where the installed vmm runs a bundled machine and
// the example plugin and its guest build against the unpacked SDK. The
// binary names no directory of the source or build tree (source file names
// recorded by assert() or a sanitizer are labels, not look-ups) and is
// stripped (its debug information is in the -dbgsym package); the man pages render without warnings; the bash
// completion parses and completes; lintian, where installed, finds no error.
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {

std::string cpack() { return (fs::path(paths::cmake()).parent_path() / "cpack").string(); }

std::vector<fs::path> files_ending(const fs::path &dir, const std::string &suffix)
{
    std::vector<fs::path> found;
    for (const auto &entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            found.push_back(entry.path());
    }
    return found;
}

// Every place where `tree` (the source or build directory) occurs in the
// binary, as the NUL-terminated string that starts there. A directory there
// would be a look-up the installed vmm depends on; a source file's name is
// only a label (assert() and the sanitizers record where a check sits; a
// compiler cache with base_dir makes them relative, CI's plain build does not).
std::vector<std::string> strings_naming(const std::string &binary, const std::string &tree)
{
    std::vector<std::string> found;
    for (auto at = binary.find(tree); at != std::string::npos; at = binary.find(tree, at + 1)) {
        const auto end = binary.find('\0', at);
        found.push_back(binary.substr(at, end == std::string::npos ? std::string::npos : end - at));
    }
    return found;
}

bool names_a_source_file(const std::string &path)
{
    static const std::vector<std::string> kSourceSuffixes{".cpp", ".hpp", ".h", ".c", ".tcc"};
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        return false;
    for (const auto &suffix : kSourceSuffixes) {
        if (path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
            return true;
    }
    return false;
}

ProcessResult shell(const std::string &script, ProcessOptions options = {})
{
    if (options.timeout == std::chrono::milliseconds(60000))
        options.timeout = std::chrono::minutes(5);
    return run_process({"/bin/bash", "-c", script}, options);
}

} // namespace

TEST_CASE("the vmm and vmm-dev packages install into a scratch root, run a machine and build the example",
          "[e2e][package]")
{
    TempDir dir("deb");
    const fs::path out = dir.path / "packages";
    ProcessOptions long_run;
    long_run.timeout = std::chrono::minutes(10);
    ProcessResult r =
        run_process({cpack(), "-G", "DEB", "-B", out.string(), "--config", paths::build_dir() + "/CPackConfig.cmake"},
                    long_run);
    show(r);
    REQUIRE(r.exit_status == 0);
    const auto debs = files_ending(out, ".deb");
    const auto ddebs = files_ending(out, ".ddeb");
    std::vector<std::string> names;
    for (const auto &deb : debs)
        names.push_back(deb.filename().string());
    INFO("packages: " << Catch::Detail::stringify(names));
    REQUIRE(debs.size() == 2);
    CHECK(fs::exists(out / "vmm_0.1.0-1_amd64.deb"));
    CHECK(fs::exists(out / "vmm-dev_0.1.0-1_all.deb"));
    REQUIRE(ddebs.size() >= 1); // vmm-dbgsym: the debug information, kept apart

    const fs::path root = dir.path / "root";
    for (const auto &deb : debs) {
        r = run_process({"/usr/bin/dpkg-deb", "-x", deb.string(), root.string()});
        show(r);
        REQUIRE(r.exit_status == 0);
    }
    const fs::path vmm = root / "usr/bin/vmm";
    REQUIRE(fs::exists(vmm));

    {
        INFO("the installed vmm runs a bundled machine from anywhere");
        ProcessOptions elsewhere;
        elsewhere.working_directory = dir.path.string();
        r = run_process({vmm.string(), "--config", "machines/hello.toml"}, elsewhere);
        show(r);
        CHECK(r.exit_status == 0);
        CHECK(r.out == "4\n");
        r = run_process({vmm.string(), "plugins"}, elsewhere);
        CHECK(r.exit_status == 0);
        CHECK_THAT(r.out, Catch::Contains("serial") && Catch::Contains("simvirtio"));
    }

    {
        INFO("the binary names no source or build directory, is stripped, and its debug information is in -dbgsym");
        const std::string binary = read_file(vmm);
        for (const std::string &tree : {paths::source_dir(), paths::build_dir()}) {
            for (const std::string &path : strings_naming(binary, tree)) {
                INFO("the binary names " << path);
                CHECK(names_a_source_file(path));
            }
        }
        r = run_process({"/usr/bin/readelf", "-S", "-W", vmm.string()});
        REQUIRE(r.exit_status == 0);
        CHECK(r.out.find(".debug_info") == std::string::npos);
        CHECK(r.out.find(".symtab") == std::string::npos);
        const fs::path debug_root = dir.path / "debug";
        bool found_debug = false;
        for (const auto &ddeb : ddebs) {
            REQUIRE(run_process({"/usr/bin/dpkg-deb", "-x", ddeb.string(), debug_root.string()}).exit_status == 0);
        }
        for (const auto &entry : fs::recursive_directory_iterator(debug_root / "usr/lib/debug"))
            found_debug = found_debug || entry.path().extension() == ".debug";
        CHECK(found_debug);
    }

    {
        INFO("the example plugin and its guest build against the unpacked SDK, and run");
        const fs::path work = dir.path / "crc32";
        fs::copy(root / "usr/share/vmm/examples/crc32", work, fs::copy_options::recursive);
        ProcessOptions options;
        options.working_directory = work.string();
        options.timeout = std::chrono::minutes(3);
        r = run_process({paths::cmake(), "-S", ".", "-B", "build", "-DCMAKE_PREFIX_PATH=" + (root / "usr").string(),
                         "-DCMAKE_CXX_COMPILER=" + paths::cxx_compiler()},
                        options);
        show(r);
        REQUIRE(r.exit_status == 0);
        r = run_process({paths::cmake(), "--build", "build"}, options);
        show(r);
        REQUIRE(r.exit_status == 0);
        REQUIRE(fs::exists(work / "build/crc32-demo.elf"));
        // The guest just built, not the packaged one.
        fs::remove(root / "usr/lib/vmm/guests/crc32-demo.elf");
        options.environment["VMM_GUEST_PATH"] = (work / "build").string();
        r = run_process({vmm.string(), "--config", "crc32.toml", "--plugin-path", "build"}, options);
        show(r);
        CHECK(r.exit_status == 0);
        CHECK(r.out ==
              "crc32(\"123456789\") = 0xcbf43926\noutside RAM: status 0x00000001\ntoo long: status 0x00000002\n");
    }

    {
        INFO("the man pages render without warnings");
        for (const char *page : {"usr/share/man/man1/vmm.1.gz", "usr/share/man/man5/vmm-machine.5.gz"}) {
            INFO(page);
            REQUIRE(fs::exists(root / page));
            ProcessOptions man;
            man.environment["LC_ALL"] = "C.UTF-8";
            man.environment["MANWIDTH"] = "80";
            r = run_process({"/usr/bin/man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", (root / page).string()},
                            man);
            CHECK(r.exit_status == 0);
            CHECK(r.err == "");
            r = run_process({"/usr/bin/man", "-l", (root / page).string()}, man);
            CHECK(r.exit_status == 0);
            CHECK_THAT(r.out, Catch::Contains("EXIT STATUS") || Catch::Contains("[[device]]"));
        }
        CHECK(fs::exists(root / "usr/share/doc/vmm/plugins/serial/README.md"));
        CHECK(fs::exists(root / "usr/share/doc/vmm/simvirtio-specification.md"));
    }

    {
        INFO("lintian finds no error in the packages");
        if (run_process({"/bin/sh", "-c", "command -v lintian"}).exit_status != 0) {
            WARN("lintian is not installed: not run");
            return;
        }
        // Last: a missing lintian ends the test here.
        r = shell("lintian --no-tag-display-limit " + out.string() + "/*.deb");
        INFO(r.out << r.err);
        CHECK(r.out.find("\nE: ") == std::string::npos);
        CHECK(r.out.rfind("E: ", 0) == std::string::npos);
        WARN("lintian says:\n" << r.out);
    }
}

TEST_CASE("the bash completion parses and completes options, subcommands, machines and plugins", "[e2e][package]")
{
    const std::string completion = paths::source_dir() + "/dist/vmm.bash-completion";
    REQUIRE(run_process({"/bin/bash", "-n", completion}).exit_status == 0);
    REQUIRE(fs::exists("/usr/share/bash-completion/bash_completion"));
    // Completes the words after `vmm` as bash would, with the vmm under test
    // first on PATH; prints one candidate a line.
    const auto complete = [&](const std::string &words) {
        const std::string script = "source /usr/share/bash-completion/bash_completion; source " + completion +
                                   "; PATH=" + fs::path(paths::vmm_binary()).parent_path().string() + ":$PATH; " +
                                   "COMP_WORDS=(vmm " + words + "); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); " +
                                   "COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}; _vmm; " +
                                   "printf '%s\\n' \"${COMPREPLY[@]}\"";
        ProcessOptions options;
        options.working_directory = fs::temp_directory_path().string();
        const ProcessResult r = shell(script, options);
        INFO(r.err);
        REQUIRE(r.exit_status == 0);
        return r.out;
    };
    CHECK_THAT(complete("--log"), Catch::Contains("--log-level\n"));
    CHECK_THAT(complete("--log-level w"), Catch::Equals("warn\nwarning\n"));
    CHECK_THAT(complete("pl"), Catch::Equals("plugins\n"));
    CHECK_THAT(complete("--config machines/simv"),
               Catch::Contains("machines/simvirtio.toml\n") && Catch::Contains("machines/simvirtio-poll.toml\n"));
    CHECK_THAT(complete("plugins serial"), Catch::Contains("serial\n") && Catch::Contains("serial-file\n"));
    CHECK_THAT(complete("plugins --j"), Catch::Equals("--json\n"));
    CHECK_THAT(complete("--gdb"), Catch::Contains("--gdb\n") && Catch::Contains("--gdb-wait\n"));
    CHECK_THAT(complete("ctl /tmp/vmm.sock s"), Catch::Equals("status\nstop\nswap\n"));
    CHECK_THAT(complete("ctl /tmp/vmm.sock swap com1 serial --i"), Catch::Equals("--isolate\n--in-process\n"));
}
