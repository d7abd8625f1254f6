// The GDB stub, driven by Debian's gdb in batch mode (and, for what gdb
// never sends, by a raw client): breakpoints in C, stepping real-mode code,
// a watchpoint, four vCPUs as threads, a VM-exit breakpoint, detach, and
// hostile packets.
#include "e2e_support.hpp"
#include "run_process.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <future>
#include <regex>
#include <sstream>
#include <thread>

using namespace vmm::test;

namespace {

// A loopback port nobody uses right now (the stub binds it a moment later).
int free_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &size) == 0);
    ::close(fd);
    return ntohs(address.sin_port);
}

std::string fmt_hex(uint64_t value)
{
    std::ostringstream out;
    out << "0x" << std::hex << value;
    return out.str();
}

// A program on $PATH (run_process does not search it).
std::string program(const std::string &name)
{
    const char *path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        const std::string candidate = dir + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    FAIL(name << " is not installed (scripts/install-deps installs it)");
    return name;
}

std::string guest(const std::string &file) { return paths::guest_dir() + "/" + file; }

struct Session {
    ProcessResult vmm;
    ProcessResult gdb;
};

// vmm runs `machine` waiting for a debugger; gdb (which retries its
// connection until vmm listens) runs `commands` on `elf` and quits.
Session debug_session(const std::string &machine, const std::string &elf, const std::vector<std::string> &commands,
                      const std::vector<std::string> &gdb_first = {})
{
    const std::string address = "127.0.0.1:" + std::to_string(free_port());
    auto vmm = std::async(std::launch::async, [&] {
        ProcessOptions options;
        options.timeout = std::chrono::milliseconds(60000);
        return run_vmm({"--config", machine, "--gdb", address, "--gdb-wait"}, options);
    });
    std::vector<std::string> argv{program("gdb"), "-batch", "-nx"};
    if (!elf.empty())
        argv.push_back(elf);
    for (const std::string &c : gdb_first)
        argv.insert(argv.end(), {"-ex", c});
    argv.insert(argv.end(), {"-ex", "set tcp connect-timeout 20", "-ex", "target remote " + address});
    for (const std::string &c : commands)
        argv.insert(argv.end(), {"-ex", c});
    ProcessOptions options;
    options.timeout = std::chrono::milliseconds(60000);
    Session s;
    s.gdb = run_process(argv, options);
    s.vmm = vmm.get();
    UNSCOPED_INFO("gdb said:\n" << s.gdb.out << s.gdb.err);
    show(s.vmm);
    return s;
}

// "$N = VALUE" lines, in order.
std::vector<std::string> printed_values(const std::string &output)
{
    std::vector<std::string> values;
    const std::regex pattern(R"(\$\d+ = ([^\n]*))");
    for (auto it = std::sregex_iterator(output.begin(), output.end(), pattern); it != std::sregex_iterator(); ++it)
        values.push_back((*it)[1]);
    return values;
}

// Instruction addresses objdump finds in a file (flat 16-bit, or an ELF).
std::vector<uint64_t> instruction_addresses(const std::vector<std::string> &objdump_args, std::string *listing = nullptr)
{
    std::vector<std::string> argv{program("objdump")};
    argv.insert(argv.end(), objdump_args.begin(), objdump_args.end());
    const ProcessResult r = run_process(argv);
    REQUIRE(r.exit_status == 0);
    if (listing != nullptr)
        *listing = r.out;
    std::vector<uint64_t> out;
    const std::regex line(R"(^\s*([0-9a-f]+):\t[0-9a-f ]+\t\S)");
    std::istringstream in(r.out);
    for (std::string text; std::getline(in, text);) {
        std::smatch m;
        if (std::regex_search(text, m, line))
            out.push_back(std::stoull(m[1], nullptr, 16));
    }
    return out;
}

} // namespace

TEST_CASE("gdb: a breakpoint at a C function of a long-mode guest, bt, info registers, detach", "[e2e][gdb]")
{
    const Session s = debug_session("machines/so2-long64.toml", guest("so2-long64.elf"),
                                    {"break main", "continue", "bt", "info registers rip", "p/x &main",
                                     "p/x $cr0 & 0x80000001", "p/x $cr3", "info threads", "detach"});
    CHECK_THAT(s.gdb.out, Catch::Contains("Breakpoint 1, main () at ") && Catch::Contains("long64.c:26"));
    CHECK_THAT(s.gdb.out, Catch::Contains("#0  main () at "));
    const std::vector<std::string> values = printed_values(s.gdb.out);
    REQUIRE(values.size() == 3);
    // info registers shows the address of main, which gdb knows from the ELF.
    CHECK_THAT(s.gdb.out, Catch::Matches("[\\s\\S]*rip +" + values[0] + " +" + values[0] + " <main>[\\s\\S]*"));
    CHECK(values[1] == "0x80000001"); // paging and protection on: long mode
    CHECK(values[2] != "0x0");
    CHECK_THAT(s.gdb.out, Catch::Contains("Thread 1 (vcpu 0: running)"));
    CHECK_THAT(s.gdb.out, Catch::Contains("detached"));
    // Detached, the guest finishes as it would have without a debugger.
    CHECK(s.vmm.exit_status == 0);
    CHECK(s.vmm.out == "Hello, world!\n");
    CHECK_THAT(s.vmm.err, Catch::Contains("check rax of vcpu 0 = 0x2a: ok"));
}

TEST_CASE("gdb: stepi in the real-mode SO2 guest advances IP as each instruction says", "[e2e][gdb]")
{
    const std::vector<uint64_t> addresses =
        instruction_addresses({"-D", "-b", "binary", "-m", "i8086", guest("so2-real16.bin")});
    REQUIRE(addresses.size() >= 3);
    const Session s = debug_session("machines/so2-real16.toml", "",
                                    {"x/3i $pc", "p/x $pc", "stepi", "p/x $pc", "p $eax", "stepi", "p/x $pc",
                                     "x/2xb 0x400", "continue"});
    // The stub describes a real-mode vCPU as i8086: gdb decodes 16-bit code.
    CHECK_THAT(s.gdb.out, Catch::Contains("mov    $0x2a,%ax") && Catch::Contains("mov    %ax,0x400"));
    const std::vector<std::string> values = printed_values(s.gdb.out);
    REQUIRE(values.size() == 4);
    CHECK(values[0] == fmt_hex(addresses[0]));
    CHECK(values[1] == fmt_hex(addresses[1])); // past `mov $0x2a,%ax`
    CHECK(values[2] == "42");                  // which it executed
    CHECK(values[3] == fmt_hex(addresses[2])); // past `mov %ax,0x400`
    CHECK_THAT(s.gdb.out, Catch::Contains("0x400:\t0x2a\t0x00"));
    CHECK_THAT(s.gdb.out, Catch::Contains("exited normally"));
    CHECK(s.vmm.exit_status == 0);
}

TEST_CASE("gdb: a watchpoint on a variable stops right after the instruction that writes it", "[e2e][gdb]")
{
    std::string listing;
    const std::vector<uint64_t> addresses = instruction_addresses({"-d", guest("so2-long64.elf")}, &listing);
    // The instruction that stores 42 in so2_result, and the one after it.
    const std::regex store(R"(\n\s*([0-9a-f]+):\t[^\n]*movl\s+\$0x2a,[^\n]*<so2_result>)");
    std::smatch m;
    REQUIRE(std::regex_search(listing, m, store));
    const uint64_t store_address = std::stoull(m[1], nullptr, 16);
    const auto it = std::find(addresses.begin(), addresses.end(), store_address);
    REQUIRE(it != addresses.end());
    REQUIRE(it + 1 != addresses.end());

    const Session s = debug_session("machines/so2-long64.toml", guest("so2-long64.elf"),
                                    {"watch so2_result", "continue", "p/x $pc", "delete", "continue"});
    CHECK_THAT(s.gdb.out, Catch::Contains("Hardware watchpoint 1: so2_result"));
    CHECK_THAT(s.gdb.out, Catch::Contains("Old value = 0") && Catch::Contains("New value = 42"));
    const std::vector<std::string> values = printed_values(s.gdb.out);
    REQUIRE(values.size() == 1);
    CHECK(values[0] == fmt_hex(*(it + 1)));
    CHECK(s.vmm.exit_status == 0);
    CHECK(s.vmm.out == "Hello, world!\n");
}

TEST_CASE("gdb: on a 4-vCPU machine info threads lists four, and each can be inspected", "[e2e][gdb]")
{
    const Session s = debug_session("machines/smp.toml", guest("smp.elf"),
                                    {"info threads", "thread 3", "p $rdi", "thread 1", "p $rdi", "thread 4", "p $rdi",
                                     "thread 2", "p $rsp - $rsp", "p $rdi", "detach"});
    for (int i = 0; i < 4; ++i)
        CHECK_THAT(s.gdb.out, Catch::Contains("Thread " + std::to_string(i + 1) + " (vcpu " + std::to_string(i) + ": "));
    // Each vCPU starts with its own index in RDI (index_register).
    const std::vector<std::string> values = printed_values(s.gdb.out);
    REQUIRE(values.size() == 5);
    CHECK(values[0] == "2");
    CHECK(values[1] == "0");
    CHECK(values[2] == "3");
    CHECK(values[4] == "1");
    CHECK(s.vmm.exit_status == 0);
    CHECK_THAT(s.vmm.err, Catch::Contains("check u32 at 0x500 = 0x4: ok"));
}

TEST_CASE("gdb: monitor break exit io 0x3f8 stops at the guest's first UART write", "[e2e][gdb]")
{
    const Session s = debug_session("machines/protected32.toml", guest("protected32.elf"),
                                    {"monitor break exit io 0x3f8", "continue", "bt", "monitor exits",
                                     "monitor devices", "monitor break exit clear", "detach"});
    // gdb prints monitor output on stderr in batch mode.
    const std::string said = s.gdb.out + s.gdb.err;
    CHECK_THAT(said, Catch::Contains("the VM stops after an exit of: io port 0x3f8;"));
    CHECK_THAT(said, Catch::Contains("vcpu 0 stopped after a VM exit: port write of 1 byte(s) at 0x3f8"));
    // Stopped in the function writing the first byte: the string's first
    // character is behind it.
    CHECK_THAT(said, Catch::Contains("uart_puts (") && Catch::Contains("<message+1>"));
    CHECK_THAT(said, Catch::Matches("[\\s\\S]*vcpu 0: \\d+ exits: IO=\\d+[\\s\\S]*"));
    CHECK_THAT(said, Catch::Contains("com1 (plugin serial) pio 0x3f8-0x3ff"));
    // The first byte went out before the stop; all of it after the detach.
    CHECK(s.vmm.exit_status == 0);
    CHECK_FALSE(s.vmm.out.empty());
}

TEST_CASE("gdb: a busy port is bad input, reported before any VM exists", "[e2e][gdb]")
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &size) == 0);
    const std::string where = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
    const ProcessResult r = run_vmm({"--config", "machines/hello.toml", "--gdb", where});
    ::close(fd);
    show(r);
    CHECK(r.exit_status == 2);
    CHECK_THAT(r.err, Catch::Contains("--gdb " + where + ": cannot listen there: the port is in use"));
    CHECK(r.out.empty()); // the guest never ran
}

TEST_CASE("gdb: a VM waiting for a debugger still stops on --timeout", "[e2e][gdb]")
{
    const auto started = std::chrono::steady_clock::now();
    const ProcessResult r = run_vmm({"--config", "machines/hello.toml", "--gdb", "127.0.0.1:" + std::to_string(free_port()),
                                     "--gdb-wait", "--timeout", "1"});
    show(r);
    CHECK(r.exit_status == 124);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
    CHECK(r.out.empty());
}

namespace {

// A debugger that speaks raw bytes on a UNIX socket.
class RawClient {
public:
    explicit RawClient(const std::string &path)
    {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
        for (int attempt = 0; attempt < 400 && fd_ < 0; ++attempt) {
            const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0) {
                fd_ = fd;
            } else {
                ::close(fd);
                std::this_thread::sleep_for(std::chrono::milliseconds(25));
            }
        }
    }
    ~RawClient() { close(); }
    bool connected() const { return fd_ >= 0; }
    void close()
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }
    void send(const std::string &bytes) { REQUIRE(::write(fd_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size())); }
    static std::string packet(const std::string &payload)
    {
        unsigned sum = 0;
        for (const char c : payload)
            sum += static_cast<unsigned char>(c);
        char tail[4];
        std::snprintf(tail, sizeof tail, "#%02x", sum & 0xff);
        return "$" + payload + tail;
    }
    // Everything that arrives within `quiet` of the last byte.
    std::string receive(std::chrono::milliseconds first = std::chrono::milliseconds(5000),
                        std::chrono::milliseconds quiet = std::chrono::milliseconds(300))
    {
        std::string out;
        auto wait = first;
        for (;;) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0)
                return out;
            char buffer[65536];
            const ssize_t n = ::read(fd_, buffer, sizeof buffer);
            if (n <= 0)
                return out;
            out.append(buffer, static_cast<std::size_t>(n));
            wait = quiet;
        }
    }
    // Sends a packet and returns the reply's payload (acks stripped).
    std::string ask(const std::string &payload)
    {
        send(packet(payload));
        std::string reply = receive();
        const auto start = reply.find('$'), end = reply.rfind('#');
        if (start == std::string::npos || end == std::string::npos || end < start)
            return "<no packet: " + reply + ">";
        return reply.substr(start + 1, end - start - 1);
    }

private:
    int fd_ = -1;
};

} // namespace

TEST_CASE("gdb: malformed packets, absurd lengths, unknown threads and registers get error replies, a second "
          "debugger is refused; a disconnect mid-packet lets the guest finish",
          "[e2e][gdb]")
{
    TempDir dir("gdb-raw");
    const std::string socket = (dir.path / "gdb.sock").string();
    auto vmm = std::async(std::launch::async, [&] {
        return run_vmm({"--config", "machines/so2-long64.toml", "--gdb", socket, "--gdb-wait"});
    });
    RawClient client(socket);
    REQUIRE(client.connected());
    client.send("garbage between packets");
    client.send("$qSupported#00"); // bad checksum
    CHECK(client.receive() == "-");
    CHECK_THAT(client.ask("qSupported:swbreak+"), Catch::Contains("PacketSize=") && Catch::Contains("vContSupported+"));
    CHECK(client.ask("?") == "T05thread:1;");
    CHECK(client.ask("Hg63") == "E02");         // vCPU 0x62 does not exist
    CHECK(client.ask("Tffff") == "E02");
    CHECK(client.ask("qThreadExtraInfo,9") == "E02");
    CHECK(client.ask("p3e7") == "E02");          // no register 999
    CHECK(client.ask("P10=00") == "E22");        // rip is 8 bytes, not 1
    CHECK(client.ask("mzz,4") == "E01");
    CHECK(client.ask("M0,4:0102") == "E01");     // length and data differ
    CHECK(client.ask("mffffffffffff0000,10") == "E14"); // not canonical
    CHECK(client.ask("md0000000,4") == "E14");  // not RAM: never a device
    // An absurd length gets at most a packet's worth.
    const std::string big = client.ask("m0,ffffffffffffffff");
    CHECK(big.size() > 0);
    CHECK(big.size() <= 16384);
    CHECK(big.find('E') != 0);
    // Four debug registers, then a refusal.
    for (int i = 0; i < 4; ++i)
        CHECK(client.ask("Z1," + std::to_string(1000 + i) + ",1") == "OK");
    CHECK(client.ask("Z1,2000,1") == "E16");
    CHECK(client.ask("Z2,1001,4") == "E22"); // unaligned watchpoint
    CHECK(client.ask("vCont;x") == "E01");
    CHECK(client.ask("qXfer:features:read:nothing.xml:0,100") == "E02");
    CHECK_THAT(client.ask("qXfer:features:read:target.xml:0,ffff"), Catch::Contains("i386:x86-64") &&
                                                                         Catch::Contains("cr3"));
    // A second debugger is told no; the first keeps the VM.
    {
        RawClient second(socket);
        REQUIRE(second.connected());
        CHECK_THAT(second.receive(), Catch::Contains("another debugger is attached"));
    }
    CHECK(client.ask("qC") == "QC1");
    // Gone in the middle of a packet: detached, breakpoints removed, and the
    // guest runs to its end.
    client.send("$m0,4#");
    client.close();
    const ProcessResult r = vmm.get();
    show(r);
    CHECK(r.exit_status == 0);
    CHECK(r.out == "Hello, world!\n");
    CHECK_THAT(r.err, Catch::Contains("the debugger disconnected in the middle of a packet"));
}

TEST_CASE("gdb: attaching to a running guest stops it, Ctrl-C stops it within a second, detach lets it run on",
          "[e2e][gdb]")
{
    TempDir dir("gdb-interrupt");
    const std::string socket = (dir.path / "gdb.sock").string();
    // A guest that runs until stopped (--timeout), printing as it goes.
    const std::string machine = dir.write("m.toml", "[machine]\nmemory = \"1M\"\n[cpu]\nmode = \"long\"\n"
                                                    "registers = { rbx = 1000000000 }\n[[image]]\nfile = \"counter.elf\"\n"
                                                    "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n");
    auto vmm = std::async(std::launch::async, [&] {
        return run_vmm({"--config", machine, "--gdb", socket, "--timeout", "4"});
    });
    RawClient client(socket);
    REQUIRE(client.connected());
    CHECK(client.ask("?") == "T02thread:1;"); // stopped by the attach
    const std::string before = client.ask("p10");  // rip
    client.send(RawClient::packet("vCont;c"));
    CHECK(client.receive(std::chrono::milliseconds(300)) == "+"); // the ack, and no stop reply: it runs
    const auto interrupted = std::chrono::steady_clock::now();
    client.send("\x03");
    const std::string reply = client.receive();
    CHECK(std::chrono::steady_clock::now() - interrupted < std::chrono::seconds(1));
    CHECK_THAT(reply, Catch::Contains("$T02thread:1;#"));
    CHECK(client.ask("qfThreadInfo") == "m1");
    CHECK_THAT(client.ask("qThreadExtraInfo,1"), Catch::StartsWith("766370752030")); // "vcpu 0"
    CHECK(client.ask("D") == "OK");
    const ProcessResult r = vmm.get();
    show(r);
    CHECK(r.exit_status == 124); // it ran on until --timeout
    CHECK_FALSE(r.out.empty());
    CHECK(before.size() == 16);
}

TEST_CASE("gdb: with an irqchip, the application processors are threads waiting for SIPI", "[e2e][gdb]")
{
    const Session s = debug_session("machines/smp-irqchip.toml", guest("smp-irqchip.elf"), {"info threads", "detach"});
    CHECK_THAT(s.gdb.out, Catch::Contains("Thread 1 (vcpu 0: running)"));
    for (int i = 1; i < 4; ++i)
        CHECK_THAT(s.gdb.out, Catch::Contains("Thread " + std::to_string(i + 1) + " (vcpu " + std::to_string(i) +
                                              ": waiting for SIPI)"));
    CHECK(s.vmm.exit_status == 0);
    CHECK_THAT(s.vmm.err, Catch::Contains("check u32 at 0x500 = 0x3: ok"));
}
