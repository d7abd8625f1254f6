// One debugger's conversation: a parsed request in, a reply payload out.
// Runs on the server thread; touches vCPU state only while the VM is
// stopped (AllStop::stopped()).
#pragma once

#include "debug/all_stop.hpp"
#include "debug/gdb_registers.hpp"
#include "debug/gdb_request.hpp"

#include <optional>
#include <string>

namespace vmm {
class Machine;
}

namespace vmm::gdb {

struct SessionReply {
    std::string payload;      // the reply packet (may be empty: "unsupported")
    bool send = true;         // false: no reply (k)
    bool resumed = false;     // the VM runs: a stop reply comes later
    bool close = false;       // detach / kill: close the connection after the reply
    std::string console;      // text for an O packet sent before the reply
};

class Session {
public:
    Session(AllStop &stop, Machine &machine) : stop_(stop), machine_(machine) {}

    SessionReply handle(const Request &request);
    // The T packet for the current stop (and the console text that goes
    // before it, for an exit break).
    SessionReply stop_reply();
    bool no_ack() const { return no_ack_; }
    // The description gdb gets, from the boot vCPU's mode now (the VM is
    // stopped): long mode x86-64, anything else i386.
    void choose_arch();
    // Detach: breakpoints and exit breaks off, every vCPU runs.
    void release();

private:
    std::string read_memory(uint64_t address, uint64_t length);
    std::string write_memory(uint64_t address, const std::vector<uint8_t> &data);
    std::string threads(bool first);
    std::optional<uint32_t> vcpu_of(int64_t thread, bool allow_any) const;
    uint32_t general_vcpu() const;
    SessionReply resume(const Request &request);
    // The write and access watchpoints' bytes as of now (AllStop::set_watched).
    std::vector<WatchedBytes> watched_bytes();

    AllStop &stop_;
    Machine &machine_;
    bool no_ack_ = false;
    Arch arch_ = Arch::x86_64;
    int64_t general_thread_ = kAnyThread;
    int64_t continue_thread_ = kAllThreads;
};

} // namespace vmm::gdb
