// The profiler's HTML page, opened in a real browser: Debian's chromium,
// headless, runs the page's script and dumps the DOM it built; the charts
// must be there, drawn from the run's figures (the exit-counts guest's 23
// exits are known exactly).
#include "e2e_support.hpp"

#include <filesystem>
#include <regex>

using namespace vmm::test;
namespace fs = std::filesystem;

namespace {

// The part of `dom` inside the element with `id` (up to its chart's end).
std::string section(const std::string &dom, const std::string &id)
{
    const auto begin = dom.find("<div id=\"" + id + "\">");
    if (begin == std::string::npos)
        return "";
    const auto end = dom.find("</svg>", begin);
    return dom.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

long sum_of_counts(const std::string &part)
{
    long sum = 0;
    const std::regex count(R"re(data-count="(\d+)")re");
    for (auto it = std::sregex_iterator(part.begin(), part.end(), count); it != std::sregex_iterator(); ++it)
        sum += std::stol((*it)[1]);
    return sum;
}

} // namespace

TEST_CASE("profiler: the HTML page draws its charts in headless Chromium, with no network", "[e2e][introspection][html]")
{
    TempDir dir("profile-html");
    const std::string page = (dir.path / "profile.html").string();
    ProcessOptions in_dir;
    in_dir.working_directory = dir.path.string();
    const ProcessResult r =
        run_vmm({"--config", "machines/exit-counts.toml", "--set", "device.profiler.settings.html=profile.html"}, in_dir);
    show(r);
    REQUIRE(r.exit_status == 0);
    CHECK_THAT(r.err, Catch::Contains("html: charts written to profile.html"));
    const std::string html = dir.read("profile.html");
    REQUIRE_FALSE(html.empty());
    // Self-contained: nothing fetched from anywhere (the one URL is the SVG
    // namespace's name, which is never fetched).
    CHECK_THAT(html, !Catch::Contains("src=") && !Catch::Contains("href=") && !Catch::Contains("fetch(") &&
                         !Catch::Contains("XMLHttpRequest") && !Catch::Contains("@import"));
    std::size_t urls = 0;
    for (auto at = html.find("http"); at != std::string::npos; at = html.find("http", at + 1)) {
        CHECK(html.compare(at, 26, "http://www.w3.org/2000/svg") == 0);
        ++urls;
    }
    CHECK(urls == 1);

    // Chromium is a declared dependency (scripts/install-deps): missing, the
    // test fails rather than pass unseen.
    REQUIRE(fs::exists("/usr/bin/chromium"));
    ProcessOptions browser;
    browser.timeout = std::chrono::milliseconds(120000);
    const ProcessResult dom = run_process({"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                           "--no-first-run", "--user-data-dir=" + (dir.path / "chromium").string(),
                                           "--dump-dom", "file://" + page},
                                          browser);
    INFO("chromium stderr:\n" << dom.err.substr(0, 4000));
    REQUIRE(dom.exit_status == 0);
    // The script ran: 3 charts, and one histogram for all exits and one per
    // reason (IO, MMIO, HLT).
    CHECK_THAT(dom.out, Catch::Contains("<body data-charts=\"7\">"));
    CHECK_THAT(dom.out, Catch::Contains("<p id=\"headline\">23 exits in "));
    // Exits over time: one line per vCPU.
    const std::string timeline = section(dom.out, "timeline");
    CHECK_THAT(timeline, Catch::Contains("data-vcpu=\"0\"") && Catch::Contains("data-vcpu=\"1\""));
    // By reason: IO 13, MMIO 8, HLT 2; by device: ports 10, regs 6, unhandled 5.
    CHECK(sum_of_counts(section(dom.out, "reasons")) == 23);
    CHECK_THAT(section(dom.out, "reasons"), Catch::Contains("data-count=\"13\""));
    CHECK(sum_of_counts(section(dom.out, "devices")) == 21);
    // The histogram of all exits holds every exit.
    CHECK(sum_of_counts(section(dom.out, "histogram-0")) == 23);
}
