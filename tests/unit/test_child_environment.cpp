// vmm-device-host's environment: the sanitizer runtimes' options gain what
// keeps them inside the sandbox, after the user's (so they win), and
// nothing else changes.
#include "isolation/child_environment.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace vmm::isolation;

namespace {

std::string value_of(const std::vector<std::string> &environment, const std::string &name)
{
    for (const std::string &entry : environment) {
        if (entry.rfind(name + "=", 0) == 0)
            return entry.substr(name.size() + 1);
    }
    return "(unset)";
}

} // namespace

TEST_CASE("the device host's environment keeps the sanitizers inside the sandbox", "[isolation]")
{
    const std::vector<std::string> given = {"PATH=/usr/bin", "ASAN_OPTIONS=abort_on_error=1:detect_leaks=1",
                                            "TSAN_OPTIONS=", "ASAN_OPTIONS_NOT=x"};
    const auto result = child_environment(given);
    CHECK(value_of(result, "PATH") == "/usr/bin");
    CHECK(value_of(result, "ASAN_OPTIONS_NOT") == "x");
    const std::string asan = value_of(result, "ASAN_OPTIONS");
    CHECK(asan.rfind("abort_on_error=1:detect_leaks=1:", 0) == 0);
    // The later detect_leaks=0 overrides the user's detect_leaks=1.
    CHECK(asan.rfind("detect_leaks=0") > asan.find("detect_leaks=1"));
    for (const char *option : {"symbolize=0", "handle_segv=0", "handle_abort=0"})
        CHECK(asan.find(option) != std::string::npos);
    CHECK(value_of(result, "TSAN_OPTIONS").rfind("symbolize=0:", 0) == 0); // no empty option before it
    CHECK(value_of(result, "TSAN_OPTIONS").find("atexit_sleep_ms=0") != std::string::npos);
    CHECK(asan.find("atexit_sleep_ms") == std::string::npos); // a flag ASan does not know would be reported
    CHECK(value_of(result, "UBSAN_OPTIONS").find("symbolize=0") != std::string::npos); // added when unset
    CHECK(result.size() == given.size() + 1);
    CHECK(std::count_if(result.begin(), result.end(),
                        [](const std::string &e) { return e.rfind("ASAN_OPTIONS=", 0) == 0; }) == 1);
}
