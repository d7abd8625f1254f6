// End to end: the introspection plugins (profiler, tracer, hypercall) and
// the CPUID identity, each on a real guest whose behaviour is known:
// exit-counts (23 exits: which ones is listed in its exit_counts_ops.S),
// hypercall (two vCPUs, vcpu_info) and cpuid-brand.
//
// Addresses of guest instructions come from the guest's ELF symbol table,
// and the instruction bytes there are checked before the test relies on
// their lengths: nothing about the layout is guessed.
#include "capture.hpp"
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <elf.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace vmm::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A JSON file a plugin wrote in `dir` (a relative path in the machine file).
json read_json(const TempDir &dir, const std::string &name)
{
    std::ifstream in(dir.path / name);
    REQUIRE(in.good());
    return json::parse(in);
}



ProcessResult run_in(const TempDir &dir, const std::vector<std::string> &args)
{
    ProcessOptions options;
    options.working_directory = dir.path.string();
    ProcessResult r = run_vmm(args, options);
    show(r);
    return r;
}

std::vector<std::string> lines_of(const std::string &text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

std::string hex(uint64_t value)
{
    std::ostringstream s;
    s << "0x" << std::hex << value;
    return s.str();
}

// The symbols of a built guest (an ELF64 executable) and the bytes its
// loadable segments put at a virtual address.
class GuestElf {
public:
    explicit GuestElf(const std::string &name)
    {
        const std::string file = paths::guest_dir() + "/" + name;
        std::ifstream in(file, std::ios::binary);
        REQUIRE(in.good());
        bytes_.assign(std::istreambuf_iterator<char>(in), {});
        REQUIRE(bytes_.size() >= sizeof(Elf64_Ehdr));
        const auto &eh = at<Elf64_Ehdr>(0);
        REQUIRE(std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0);
        REQUIRE(eh.e_ident[EI_CLASS] == ELFCLASS64);
        for (unsigned i = 0; i < eh.e_shnum; ++i) {
            const auto &sh = at<Elf64_Shdr>(eh.e_shoff + uint64_t{i} * eh.e_shentsize);
            if (sh.sh_type != SHT_SYMTAB)
                continue;
            const auto &strtab = at<Elf64_Shdr>(eh.e_shoff + uint64_t{sh.sh_link} * eh.e_shentsize);
            for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
                const auto &sym = at<Elf64_Sym>(sh.sh_offset + off);
                if (sym.st_name == 0 || strtab.sh_offset + sym.st_name >= bytes_.size())
                    continue;
                symbols_[reinterpret_cast<const char *>(&bytes_[strtab.sh_offset + sym.st_name])] = sym.st_value;
            }
        }
        for (unsigned i = 0; i < eh.e_phnum; ++i)
            segments_.push_back(at<Elf64_Phdr>(eh.e_phoff + uint64_t{i} * eh.e_phentsize));
        REQUIRE(!symbols_.empty());
    }

    uint64_t symbol(const std::string &name) const
    {
        const auto it = symbols_.find(name);
        INFO("symbol " << name);
        REQUIRE(it != symbols_.end());
        return it->second;
    }

    std::vector<uint8_t> code(uint64_t address, std::size_t size) const
    {
        for (const Elf64_Phdr &ph : segments_) {
            if (ph.p_type == PT_LOAD && address >= ph.p_vaddr && address + size <= ph.p_vaddr + ph.p_filesz) {
                const uint64_t off = ph.p_offset + (address - ph.p_vaddr);
                return {bytes_.begin() + static_cast<long>(off), bytes_.begin() + static_cast<long>(off + size)};
            }
        }
        FAIL("address " << hex(address) << " is in no loadable segment");
        return {};
    }

private:
    template <typename T>
    const T &at(uint64_t offset) const
    {
        REQUIRE(offset + sizeof(T) <= bytes_.size());
        return *reinterpret_cast<const T *>(&bytes_[offset]);
    }

    std::vector<uint8_t> bytes_;
    std::map<std::string, uint64_t> symbols_;
    std::vector<Elf64_Phdr> segments_;
};

// ---- the exit-counts guest: what it does, access by access ----

struct Access {
    const char *label;            // symbol at the instruction
    std::vector<uint8_t> opcode;  // its encoding (checked against the ELF)
    const char *kind;             // tracer words: "port=0x600 out size=1 data=0x11"
    bool rip_may_be_past;         // KVM may report the next instruction's address
};

// vCPU 0's 16 accesses in order (exit_counts_ops.S), then its HLT.
const std::vector<Access> &vcpu0_accesses()
{
    static const std::vector<Access> accesses = {
        {"ec_out_600_a", {0xee}, "reason=IO port=0x600 out size=1 data=0x11", true},
        {"ec_out_600_b", {0xee}, "reason=IO port=0x600 out size=1 data=0x22", true},
        {"ec_out_600_c", {0xee}, "reason=IO port=0x600 out size=1 data=0x33", true},
        {"ec_in_601", {0xec}, "reason=IO port=0x601 in size=1 data=0x5a", true},
        {"ec_outw_602_a", {0x66, 0xef}, "reason=IO port=0x602 out size=2 data=0xbeef", true},
        {"ec_outw_602_b", {0x66, 0xef}, "reason=IO port=0x602 out size=2 data=0xbeef", true},
        {"ec_out_700_a", {0xee}, "reason=IO port=0x700 out size=1 data=0xef", true},
        {"ec_out_700_b", {0xee}, "reason=IO port=0x700 out size=1 data=0xef", true},
        {"ec_in_700", {0xec}, "reason=IO port=0x700 in size=1 data=0xff", true},
        {"ec_mmio_write_a", {0x89, 0x03}, "reason=MMIO mmio=0xd0000000 write size=4 data=0x12345678", true},
        {"ec_mmio_write_b", {0x89, 0x03}, "reason=MMIO mmio=0xd0000000 write size=4 data=0x12345678", true},
        {"ec_mmio_write_q", {0x48, 0x89, 0x43, 0x08}, "reason=MMIO mmio=0xd0000008 write size=8 data=0x1122334455667788",
         true},
        {"ec_mmio_read_a", {0x8b, 0x43, 0x10}, "reason=MMIO mmio=0xd0000010 read size=4 data=0xa5a5a5a5", true},
        {"ec_mmio_read_b", {0x8b, 0x43, 0x10}, "reason=MMIO mmio=0xd0000010 read size=4 data=0xa5a5a5a5", true},
        {"ec_mmio_unhandled_read", {0x8a, 0x03}, "reason=MMIO mmio=0xe0000000 read size=1 data=0xff", true},
        {"ec_mmio_unhandled_write", {0x88, 0x03}, "reason=MMIO mmio=0xe0000000 write size=1 data=0xff", true},
    };
    return accesses;
}

// One line of the tracer's file.
struct TraceLine {
    uint16_t cs = 0;
    uint64_t rip = 0;
    uint32_t vcpu = 0;
    uint64_t seq = 0;
    std::string rest; // "reason=IO port=0x600 out size=1 data=0x11"
};

std::vector<TraceLine> parse_trace(const std::string &text, std::vector<std::string> &comments)
{
    static const std::regex line_re(R"(^GUEST CS:RIP=([0-9a-f]{4}):0x([0-9a-f]{16}) vcpu=(\d+) seq=(\d+) (.*)$)");
    std::vector<TraceLine> lines;
    for (const std::string &line : lines_of(text)) {
        if (!line.empty() && line[0] == '#') {
            comments.push_back(line);
            continue;
        }
        std::smatch m;
        INFO("trace line: " << line);
        REQUIRE(std::regex_match(line, m, line_re));
        TraceLine t;
        t.cs = static_cast<uint16_t>(std::stoul(m[1], nullptr, 16));
        t.rip = std::stoull(m[2], nullptr, 16);
        t.vcpu = static_cast<uint32_t>(std::stoul(m[3]));
        t.seq = std::stoull(m[4]);
        t.rest = m[5];
        lines.push_back(t);
    }
    return lines;
}

// The machine files below run the exit-counts guest with extra devices.
// Runs the exit-counts guest (23 exits on 2 vCPUs) in `dir`, as m.toml, with
// one more device: an observer `plugin` named `name`, given `settings` (the
// inside of a TOML inline table; none when empty).
ProcessResult run_exit_counts_with(const TempDir &dir, const std::string &name, const std::string &plugin,
                                   const std::string &settings = "")
{
    std::string machine =
        "[machine]\nmemory = \"2M\"\nvcpus = 2\n[cpu]\nmode = \"long\"\nindex_register = \"rdi\"\n"
        "[[image]]\nfile = \"exit-counts.elf\"\n"
        "[[device]]\nname = \"ports\"\nplugin = \"port-logger\"\npio = [{ base = 0x600, size = 4 }]\n"
        "settings = { read_value = 0x5a }\n"
        "[[device]]\nname = \"regs\"\nplugin = \"port-logger\"\nmmio = [{ base = 0xd0000000, size = 0x1000 }]\n"
        "settings = { read_value = 0xa5a5a5a5 }\n"
        "[[device]]\nname = \"" +
        name + "\"\nplugin = \"" + plugin + "\"\n";
    if (!settings.empty())
        machine += "settings = { " + settings + " }\n";
    return run_in(dir, {"--config", dir.write("m.toml", machine), "-v"}); // the observers report at info
}

// ---- the hypercall plugin's vcpu_info lines ----

struct VcpuInfoLine {
    long long tid = 0;
    uint64_t exits = 0;
    std::string state;
    std::map<std::string, uint64_t> regs;
};

std::optional<VcpuInfoLine> find_vcpu_info(const std::string &err, unsigned vcpu)
{
    const std::regex line_re("\\[hypercall\\] info: vcpu_info\\(" + std::to_string(vcpu) +
                             "\\): host tid (-?\\d+), (\\d+) exits, ([a-z ]+), (rax=.*) \\((the caller|as of).*\\)");
    std::optional<VcpuInfoLine> found;
    for (const std::string &line : lines_of(err)) {
        std::smatch m;
        if (!std::regex_match(line, m, line_re))
            continue;
        REQUIRE_FALSE(found); // one line per call
        VcpuInfoLine info;
        info.tid = std::stoll(m[1]);
        info.exits = std::stoull(m[2]);
        info.state = m[3];
        static const std::regex reg_re(R"(([a-z0-9]+)=0x([0-9a-f]+))");
        const std::string regs = m[4];
        for (auto it = std::sregex_iterator(regs.begin(), regs.end(), reg_re); it != std::sregex_iterator(); ++it)
            info.regs[(*it)[1]] = std::stoull((*it)[2], nullptr, 16);
        found = info;
    }
    return found;
}

} // namespace

// ---------------------------------------------------------------- profiler

TEST_CASE("profiler: exact exit counts by reason, port, MMIO address, device and vCPU", "[e2e][introspection]")
{
    TempDir dir;
    // The bundled machine writes no file unless asked (--set), in the test's directory.
    const ProcessResult r = run_in(dir, {"--config", "machines/exit-counts.toml", "--report", "report.json", "--set",
                                         "device.profiler.settings.json=exit-counts.json"});
    REQUIRE(r.exit_status == 0);
    const json p = read_json(dir, "exit-counts.json");
    const json report = read_json(dir, "report.json");

    CHECK(p["exits"] == 23);
    CHECK(p["by_reason"]["IO"]["count"] == 13);
    CHECK(p["by_reason"]["MMIO"]["count"] == 8);
    CHECK(p["by_reason"]["HLT"]["count"] == 2);
    CHECK(p["by_reason"].size() == 3);
    // The core counts the same exits on its own: the profiler saw every one.
    CHECK(report["exits"]["total"] == p["exits"]);
    CHECK(report["exits"]["by_reason"]["IO"] == p["by_reason"]["IO"]["count"]);
    CHECK(report["exits"]["by_reason"]["MMIO"] == p["by_reason"]["MMIO"]["count"]);

    CHECK(p["by_vcpu"].size() == 2);
    CHECK(p["by_vcpu"]["0"]["exits"] == 17);
    CHECK(p["by_vcpu"]["0"]["by_reason"] == json({{"IO", 9}, {"MMIO", 7}, {"HLT", 1}}));
    CHECK(p["by_vcpu"]["1"]["exits"] == 6);
    CHECK(p["by_vcpu"]["1"]["by_reason"] == json({{"IO", 4}, {"MMIO", 1}, {"HLT", 1}}));

    struct Expected {
        const char *address;
        const char *device;
        int exits, reads, writes, bytes;
    };
    const std::vector<Expected> ports = {
        {"0x600", "ports", 3, 0, 3, 3},     {"0x601", "ports", 1, 1, 0, 1}, {"0x602", "ports", 2, 0, 2, 4},
        {"0x603", "ports", 4, 0, 4, 4},     {"0x700", "unhandled", 3, 1, 2, 3},
    };
    const std::vector<Expected> mmio = {
        {"0xd0000000", "regs", 2, 0, 2, 8}, {"0xd0000008", "regs", 1, 0, 1, 8},
        {"0xd0000010", "regs", 2, 2, 0, 8}, {"0xd0000100", "regs", 1, 0, 1, 2},
        {"0xe0000000", "unhandled", 2, 1, 1, 2},
    };
    for (const auto &[table, expected] : {std::pair{"by_port", &ports}, std::pair{"by_mmio", &mmio}}) {
        CHECK(p[table].size() == expected->size());
        for (const Expected &e : *expected) {
            INFO(table << " " << e.address);
            REQUIRE(p[table].contains(e.address));
            const json &row = p[table][e.address];
            CHECK(row["device"] == e.device);
            CHECK(row["exits"] == e.exits);
            CHECK(row["accesses"] == e.exits);
            CHECK(row["reads"] == e.reads);
            CHECK(row["writes"] == e.writes);
            CHECK(row["bytes"] == e.bytes);
        }
    }
    CHECK(p["by_device"] == json({{"ports", 10}, {"regs", 6}, {"unhandled", 5}}));

    // Histograms: one value per exit, percentiles ordered and inside [min, max].
    for (const char *which : {"handling_ns", "guest_ns"}) {
        INFO(which);
        const json &h = p[which];
        CHECK(h["count"] == 23);
        CHECK(h["min"] <= h["p50"]);
        CHECK(h["p50"] <= h["p90"]);
        CHECK(h["p90"] <= h["p99"]);
        CHECK(h["p99"] <= h["max"]);
        CHECK(h["max"] > 0);
        for (const char *reason : {"IO", "MMIO", "HLT"})
            CHECK(p["by_reason"][reason][which]["count"] == p["by_reason"][reason]["count"]);
    }

    // The table in the log.
    CHECK_THAT(r.err, Catch::Contains("[profiler] info: profile: 23 exits on 2 vCPU(s)"));
    CHECK(std::regex_search(r.err, std::regex(R"(\[profiler\] info: IO +13 +56\.5 \|)")));
    CHECK(std::regex_search(r.err, std::regex(R"(\[profiler\] info: vcpu 0 +17 exits: IO=9 HLT=1 MMIO=7)")));
    CHECK(std::regex_search(r.err, std::regex(R"(\[profiler\] info: 0x700 +unhandled +3 +1 +2 )")));
    CHECK(std::regex_search(r.err, std::regex(R"(\[profiler\] info: 0xd0000010 +regs +2 +2 +0 )")));
    CHECK_THAT(r.err, Catch::Contains("exits by device: ports=10 regs=6 unhandled=5"));
}

TEST_CASE("profiler: the Chrome trace has one complete event per exit, with its port or address and device",
          "[e2e][introspection]")
{
    TempDir dir;
    const ProcessResult r = run_in(
        dir, {"--config", "machines/exit-counts.toml", "--set", "device.profiler.settings.trace=exit-counts-trace.json"});
    REQUIRE(r.exit_status == 0);
    const json t = read_json(dir, "exit-counts-trace.json");
    REQUIRE(t.contains("traceEvents"));
    CHECK(t["otherData"]["events"] == 23);
    CHECK(t["otherData"]["dropped"] == 0);

    std::map<std::string, int> by_name;
    std::map<int, int> by_tid;
    std::map<std::pair<std::string, std::string>, int> by_port; // (port, device)
    std::map<std::pair<std::string, std::string>, int> by_address;
    std::set<std::string> thread_names;
    const GuestElf elf("exit-counts.elf");
    int port_600_at_label = 0;
    for (const json &e : t["traceEvents"]) {
        if (e["ph"] == "M") {
            if (e["name"] == "thread_name")
                thread_names.insert(e["args"]["name"].get<std::string>());
            continue;
        }
        REQUIRE(e["ph"] == "X");
        CHECK(e["pid"] == 1);
        CHECK(e["ts"].get<double>() >= 0);
        CHECK(e["dur"].get<double>() >= 0);
        CHECK(e["args"]["cs"] == "0x0008");
        ++by_name[e["name"].get<std::string>()];
        ++by_tid[e["tid"].get<int>()];
        const json &a = e["args"];
        if (a.contains("port")) {
            ++by_port[{a["port"].get<std::string>(), a["device"].get<std::string>()}];
            CHECK(e["name"] == "IO");
            CHECK(a.contains("size"));
            CHECK(a.contains("data"));
        }
        if (a.contains("address")) {
            ++by_address[{a["address"].get<std::string>(), a["device"].get<std::string>()}];
            CHECK(e["name"] == "MMIO");
        }
        if (a.value("port", "") == "0x600") {
            const uint64_t rip = std::stoull(a["rip"].get<std::string>(), nullptr, 16);
            for (const char *label : {"ec_out_600_a", "ec_out_600_b", "ec_out_600_c"}) {
                const uint64_t at = elf.symbol(label);
                port_600_at_label += rip == at || rip == at + 1;
            }
        }
    }
    CHECK(by_name == std::map<std::string, int>{{"IO", 13}, {"MMIO", 8}, {"HLT", 2}});
    CHECK(by_tid == std::map<int, int>{{0, 17}, {1, 6}});
    CHECK(thread_names == std::set<std::string>{"vCPU 0", "vCPU 1"});
    CHECK(by_port == std::map<std::pair<std::string, std::string>, int>{{{"0x600", "ports"}, 3},
                                                                        {{"0x601", "ports"}, 1},
                                                                        {{"0x602", "ports"}, 2},
                                                                        {{"0x603", "ports"}, 4},
                                                                        {{"0x700", "unhandled"}, 3}});
    CHECK(by_address == std::map<std::pair<std::string, std::string>, int>{{{"0xd0000000", "regs"}, 2},
                                                                           {{"0xd0000008", "regs"}, 1},
                                                                           {{"0xd0000010", "regs"}, 2},
                                                                           {{"0xd0000100", "regs"}, 1},
                                                                           {{"0xe0000000", "unhandled"}, 2}});
    CHECK(port_600_at_label == 3);
    CHECK_THAT(r.err, Catch::Contains("trace: 23 exits written to exit-counts-trace.json, 0 dropped"));
}

TEST_CASE("profiler: trace_limit bounds the trace and says how many exits were dropped", "[e2e][introspection]")
{
    TempDir dir;
    const ProcessResult r =
        run_exit_counts_with(dir, "prof", "profiler", "json = \"p.json\", trace = \"t.json\", trace_limit = 5");
    REQUIRE(r.exit_status == 0);
    const json t = read_json(dir, "t.json");
    int complete = 0;
    for (const json &e : t["traceEvents"])
        complete += e["ph"] == "X";
    CHECK(complete == 5);
    CHECK(t["otherData"]["dropped"] == 18);
    const json p = read_json(dir, "p.json");
    CHECK(p["exits"] == 23); // the counts are not limited
    CHECK(p["trace"]["events"] == 5);
    CHECK(p["trace"]["dropped"] == 18);
    CHECK_THAT(r.err, Catch::Contains("[prof] info: trace: 5 exits written to t.json, 18 dropped (trace_limit 5)"));
}

TEST_CASE("profiler: without files it only prints, and bad settings are configuration errors", "[e2e][introspection]")
{
    TempDir dir;
    SECTION("no settings: the table alone")
    {
        const ProcessResult r = run_exit_counts_with(dir, "prof", "profiler");
        CHECK(r.exit_status == 0);
        CHECK_THAT(r.err, Catch::Contains("[prof] info: profile: 23 exits on 2 vCPU(s)"));
        CHECK(fs::directory_iterator(dir.path) != fs::directory_iterator());
        CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1); // m.toml only
    }
    SECTION("a negative trace_limit")
    {
        const ProcessResult r = run_exit_counts_with(dir, "prof", "profiler", "trace = \"t.json\", trace_limit = -1");
        CHECK(r.exit_status == 2);
        // The range profiler declares (ABI 1.6), checked by vmm before the device is made.
        CHECK_THAT(r.err, Catch::Contains("setting 'trace_limit' = -1 is outside the range 0..67108864 declared by "
                                          "plugin 'profiler'"));
    }
    SECTION("a JSON file that cannot be written")
    {
        const ProcessResult r = run_exit_counts_with(dir, "prof", "profiler", "json = \"no/such/dir/p.json\"");
        CHECK(r.exit_status == 2);
        CHECK_THAT(r.err, Catch::Contains("json: cannot write 'no/such/dir/p.json'"));
    }
}

// ------------------------------------------------------------------ tracer

TEST_CASE("tracer: one line per exit with the CS:RIP of the guest's known instructions", "[e2e][introspection]")
{
    TempDir dir;
    const ProcessResult r = run_in(dir, {"--config", "machines/exit-counts-trace.toml", "--report", "report.json",
                                         "--set", "device.tracer.settings.file=exit-counts-trace.txt"});
    REQUIRE(r.exit_status == 0);
    std::vector<std::string> comments;
    const std::vector<TraceLine> lines = parse_trace(dir.read("exit-counts-trace.txt"), comments);
    REQUIRE(lines.size() == 23);
    REQUIRE(!comments.empty());
    CHECK_THAT(comments[0], Catch::StartsWith("# vmm tracer: 23 exits, the last 23 below (capacity 65536), 0 overwritten"));
    CHECK_THAT(r.err, Catch::Contains("[tracer] info: 23 exits traced; the last 23 written to exit-counts-trace.txt, "
                                      "0 older ones overwritten"));

    // The code selector, as the core reports it at the end.
    const json report = read_json(dir, "report.json");
    const uint16_t cs = report["vcpus"][0]["segments"]["cs"]["selector"].get<uint16_t>();
    CHECK(cs == 0x08);

    std::vector<TraceLine> vcpu0, vcpu1;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        CHECK(lines[i].seq == i); // every exit, in order, none missing
        CHECK(lines[i].cs == cs);
        (lines[i].vcpu == 0 ? vcpu0 : vcpu1).push_back(lines[i]);
    }
    const GuestElf elf("exit-counts.elf");
    const uint64_t halt_rip = elf.symbol("intro_halt") + 1; // KVM reports HLT's exit past the HLT
    REQUIRE(elf.code(elf.symbol("intro_halt"), 1) == std::vector<uint8_t>{0xf4});

    // vCPU 0: its 16 accesses in program order, each at its instruction
    // (or just past it: for OUT and MMIO writes KVM may already have
    // stepped over the instruction when it exits to user space), then HLT.
    const auto &accesses = vcpu0_accesses();
    REQUIRE(vcpu0.size() == accesses.size() + 1);
    for (std::size_t i = 0; i < accesses.size(); ++i) {
        const Access &a = accesses[i];
        const uint64_t at = elf.symbol(a.label);
        INFO("vcpu 0 access " << i << " (" << a.label << " at " << hex(at) << "): " << vcpu0[i].rest << " rip "
                              << hex(vcpu0[i].rip));
        REQUIRE(elf.code(at, a.opcode.size()) == a.opcode);
        CHECK(vcpu0[i].rest == a.kind);
        CHECK((vcpu0[i].rip == at || (a.rip_may_be_past && vcpu0[i].rip == at + a.opcode.size())));
    }
    CHECK(vcpu0.back().rest == "reason=HLT");
    CHECK(vcpu0.back().rip == halt_rip);

    // vCPU 1: four OUTs from one instruction in a loop, an MMIO write, HLT.
    REQUIRE(vcpu1.size() == 6);
    const uint64_t out_603 = elf.symbol("ec_out_603");
    REQUIRE(elf.code(out_603, 1) == std::vector<uint8_t>{0xee});
    for (int i = 0; i < 4; ++i) {
        CHECK(vcpu1[i].rest == "reason=IO port=0x603 out size=1 data=" + hex(4 - i));
        CHECK((vcpu1[i].rip == out_603 || vcpu1[i].rip == out_603 + 1));
        CHECK(vcpu1[i].rip == vcpu1[0].rip);
    }
    const uint64_t write_v1 = elf.symbol("ec_mmio_write_v1");
    REQUIRE(elf.code(write_v1, 3) == std::vector<uint8_t>{0x66, 0x89, 0x03});
    CHECK(vcpu1[4].rest == "reason=MMIO mmio=0xd0000100 write size=2 data=0xcafe");
    CHECK((vcpu1[4].rip == write_v1 || vcpu1[4].rip == write_v1 + 3));
    CHECK(vcpu1[5].rest == "reason=HLT");
    CHECK(vcpu1[5].rip == halt_rip);

    // One convention for every OUT of the run: all at, or all past, the instruction.
    const bool out_past = vcpu0[0].rip != elf.symbol("ec_out_600_a");
    CHECK((vcpu1[0].rip == out_603 + 1) == out_past);
}

TEST_CASE("tracer: a full ring keeps the newest exits and counts the overwritten ones", "[e2e][introspection]")
{
    TempDir dir;
    const ProcessResult r = run_exit_counts_with(dir, "tr", "tracer", "file = \"t.txt\", capacity = 5");
    REQUIRE(r.exit_status == 0);
    std::vector<std::string> comments;
    const std::vector<TraceLine> lines = parse_trace(dir.read("t.txt"), comments);
    REQUIRE(lines.size() == 5);
    for (std::size_t i = 0; i < lines.size(); ++i)
        CHECK(lines[i].seq == 18 + i);
    CHECK(lines.back().rest == "reason=HLT"); // the run's last exit is a vCPU's HLT
    REQUIRE(!comments.empty());
    CHECK_THAT(comments[0], Catch::StartsWith("# vmm tracer: 23 exits, the last 5 below (capacity 5), 18 overwritten"));
    CHECK_THAT(r.err, Catch::Contains("[tr] info: 23 exits traced; the last 5 written to t.txt, 18 older ones "
                                      "overwritten (capacity 5)"));
}

TEST_CASE("tracer: without a file the trace goes to standard output; a file must be writable", "[e2e][introspection]")
{
    TempDir dir;
    SECTION("no file: standard output, and no file written")
    {
        const ProcessResult r = run_exit_counts_with(dir, "tr", "tracer");
        CHECK(r.exit_status == 0);
        std::vector<std::string> comments;
        CHECK(parse_trace(r.out, comments).size() == 23);
        CHECK_THAT(r.err, Catch::Contains("[tr] info: 23 exits traced; the last 23 written to standard output"));
        std::vector<std::string> files;
        for (const auto &entry : fs::directory_iterator(dir.path))
            files.push_back(entry.path().filename().string());
        CHECK(files == std::vector<std::string>{"m.toml"});
    }
    SECTION("a file that cannot be written")
    {
        const ProcessResult r = run_exit_counts_with(dir, "tr", "tracer", "file = \"no/such/dir/t.txt\"");
        CHECK(r.exit_status == 2);
        CHECK_THAT(r.err, Catch::Contains("file: cannot write 'no/such/dir/t.txt'"));
    }
}

// --------------------------------------------------------------- hypercall

TEST_CASE("hypercall: vcpu_info logs both vCPUs' threads, registers and exit counts", "[e2e][introspection]")
{
    TempDir dir;
    const ProcessResult r = run_in(dir, {"--config", "machines/hypercall.toml", "--report", "report.json"});
    // The guest checked the results in RAX (0, 0, -1, -38, -38) itself.
    CHECK(r.exit_status == 0);
    CHECK(r.out == "vcpu_info(0) = 0\nvcpu_info(1) = 0\nvcpu_info(7) = -1\ncall 99 = -38\ncall 99 again = -38\n");

    const std::optional<VcpuInfoLine> v0 = find_vcpu_info(r.err, 0);
    const std::optional<VcpuInfoLine> v1 = find_vcpu_info(r.err, 1);
    REQUIRE(v0);
    REQUIRE(v1);
    CHECK(v0->tid > 0);
    CHECK(v1->tid > 0);
    CHECK(v0->tid != v1->tid);
    CHECK(v0->regs.size() == 18); // rax..r15, rip, rflags
    CHECK(v1->regs.size() == 18);

    // vCPU 0, the caller: its registers at the call (number 1 in RAX,
    // argument 0 in RBX, the doorbell port in RDX), and this call is its
    // first exit: it waited for vCPU 1 without leaving the guest.
    CHECK(v0->exits == 1);
    CHECK(v0->state == "running");
    CHECK(v0->regs.at("rax") == 1);
    CHECK(v0->regs.at("rbx") == 0);
    CHECK(v0->regs.at("rdx") == 0x510);

    // vCPU 1: its registers as saved at its last exit, which is the fifth
    // OUT (5 exits) or, usually, the HLT after it (6 exits): vCPU 0 waits
    // for the flag set between the two, then a little longer.
    const GuestElf elf("hypercall.elf");
    const std::map<std::string, uint64_t> patterns = {
        {"rbx", 0xb0b0b0b0b0b0b0b1}, {"rsi", 0x5151515151515151}, {"rbp", 0xb9b9b9b9b9b9b9b9},
        {"r8", 0x0808080808080808},  {"r9", 0x0909090909090909},  {"r10", 0x1010101010101010},
        {"r11", 0x1111111111111111}, {"r12", 0x1212121212121212}, {"r13", 0x1313131313131313},
        {"r14", 0x1414141414141414}, {"r15", 0x1515151515151515}, {"rdx", 0x600},
        {"rdi", 1},                  {"rax", 5},
    };
    for (const auto &[name, value] : patterns) {
        INFO("vcpu 1 " << name);
        CHECK(v1->regs.at(name) == value);
    }
    const uint64_t last_out = elf.symbol("vcpu1_last_out");
    const uint64_t hlt = elf.symbol("vcpu1_hlt");
    REQUIRE(elf.code(last_out, 1) == std::vector<uint8_t>{0xee});
    REQUIRE(elf.code(hlt, 1) == std::vector<uint8_t>{0xf4});
    CHECK((v1->exits == 5 || v1->exits == 6));
    if (v1->exits == 6) {
        CHECK(v1->regs.at("rip") == hlt + 1);
    } else {
        CHECK((v1->regs.at("rip") == last_out || v1->regs.at("rip") == last_out + 1));
        CHECK(v1->state == "running");
    }
    CHECK((v1->state == "halted" || v1->state == "running"));

    // The core's own count for vCPU 1 at the end: 5 OUTs and the HLT.
    const json report = read_json(dir, "report.json");
    CHECK(report["vcpus"][1]["exits"] == 6);
    CHECK(count_of(r.err, "[vcpu1-port] info: out  port+0x0") == 5);

    CHECK_THAT(r.err, Catch::Contains("[hypercall] info: vcpu_info(7): no such vCPU (the machine has 2), called by "
                                      "vcpu 0; returns -1"));
    // The unknown call was made twice and logged once.
    CHECK(count_of(r.err, "unknown call 99 (0x63): returns -38 (-ENOSYS)") == 1);
}

// ------------------------------------------------------------------- CPUID

TEST_CASE("cpuid-brand: the guest reads the brand string and hypervisor leaf the machine file sets",
          "[e2e][introspection]")
{
    SECTION("the bundled machine: a brand and an override of leaf 0x40000000")
    {
        TempDir dir;
        const ProcessResult r = run_in(dir, {"--config", "machines/cpuid-brand.toml"});
        CHECK(r.exit_status == 0);
        const std::vector<std::string> lines = lines_of(r.out);
        REQUIRE(lines.size() == 3);
        CHECK(std::regex_match(lines[0], std::regex("max extended leaf: 0x8000[0-9a-f]{4}")));
        CHECK(std::stoul(lines[0].substr(lines[0].find("0x")), nullptr, 16) >= 0x80000004);
        CHECK(lines[1] == "brand: Introspection Virtual CPU @ 3.14GHz");
        CHECK(lines[2] == "hypervisor leaf 0x40000000: max 0x40000001, signature \"VMMintrospec\"");
    }
    SECTION("another brand of the longest length, and KVM's own signature without the override")
    {
        TempDir dir;
        const std::string brand = "A brand of exactly forty-seven characters: 47!!";
        REQUIRE(brand.size() == 47);
        const std::string machine =
            dir.write("m.toml", "[machine]\nmemory = \"2M\"\n[cpu]\nmode = \"long\"\n[cpu.cpuid]\nbrand = \"" +
                                    brand + "\"\n[[image]]\nfile = \"cpuid-brand.elf\"\n"
                                    "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n");
        const ProcessResult r = run_in(dir, {"--config", machine});
        CHECK(r.exit_status == 0);
        const std::vector<std::string> lines = lines_of(r.out);
        REQUIRE(lines.size() == 3);
        CHECK(lines[1] == "brand: " + brand);
        // Documentation/virt/kvm/x86/cpuid.rst: KVM_CPUID_SIGNATURE is "KVMKVMKVM\0\0\0".
        CHECK(lines[2] == "hypervisor leaf 0x40000000: max 0x40000001, signature \"KVMKVMKVM\"");
    }
}
