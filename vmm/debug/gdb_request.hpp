// One GDB packet, parsed: what the debugger asks, with every number and
// length checked for form (not yet against the machine: the session does
// that). A packet that does not parse is Kind::malformed and gets an error
// reply; one we do not know is Kind::unsupported and gets the empty reply
// the protocol prescribes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmm::gdb {

// Thread ids as gdb writes them (hex; we do not announce multiprocess):
// -1 all threads, 0 any thread, N the vCPU N - 1.
inline constexpr int64_t kAllThreads = -1;
inline constexpr int64_t kAnyThread = 0;

enum class ResumeKind { cont, step };

struct ResumeAction {
    ResumeKind kind = ResumeKind::cont;
    int64_t thread = kAllThreads; // the action applies to this thread (or all not named before)
};

struct Request {
    enum class Kind {
        unsupported,
        malformed,
        supported,       // qSupported
        features,        // qXfer:features:read:ANNEX:OFFSET,LENGTH
        attached,        // qAttached
        first_threads,   // qfThreadInfo
        next_threads,    // qsThreadInfo
        current_thread,  // qC
        thread_extra,    // qThreadExtraInfo,ID
        monitor,         // qRcmd,HEX
        no_ack,          // QStartNoAckMode
        stop_reason,     // ?
        read_registers,  // g
        write_registers, // G HEX
        read_register,   // p N
        write_register,  // P N=HEX
        read_memory,     // m ADDR,LEN
        write_memory,    // M ADDR,LEN:HEX and X ADDR,LEN:BINARY
        insert_point,    // Z TYPE,ADDR,KIND
        remove_point,    // z TYPE,ADDR,KIND
        set_thread,      // H g|c ID
        thread_alive,    // T ID
        vcont_query,     // vCont?
        resume,          // c, s, vCont;...
        detach,          // D, D;PID
        kill,            // k, vKill;PID
    } kind = Kind::unsupported;

    std::string text;              // the annex (features), the command (monitor)
    uint64_t address = 0;          // memory, points, register number, features offset
    uint64_t length = 0;           // memory, points (kind), features length
    std::vector<uint8_t> data;     // writes
    int point_type = 0;            // Z0..Z4
    char thread_op = 0;            // H: 'g' or 'c'
    int64_t thread = kAnyThread;   // H, T, qThreadExtraInfo
    std::vector<ResumeAction> actions; // resume: in the packet's order
    std::optional<uint64_t> resume_address; // c ADDR / s ADDR
    std::string error;             // malformed: why
};

Request parse_request(std::string_view packet);

// Parses a thread id as gdb writes it: "-1", "0" or hex.
std::optional<int64_t> parse_thread_id(std::string_view text);

} // namespace vmm::gdb
