// The channel between vmm and an isolated device's host process
// (vmm-device-host), shared by both sides. Three parts:
//  - a shared-memory page of access slots, one per vCPU and one for every
//    other thread: a guest access is a request written into the caller's
//    slot and a futex wake, answered in the same slot (no socket round trip);
//  - a SOCK_SEQPACKET socket ("channel") for the lifecycle (init, realize,
//    quiesce, resume, state, destroy) and the child's messages (log lines,
//    request_stop), descriptors travelling with SCM_RIGHTS;
//  - a second one ("rpc") for the few services only vmm can perform
//    (KVM_IRQ_LINE, KVM_SIGNAL_MSI, ioeventfd doorbells), one call at a time.
// vmm trusts nothing it reads from either: every field is checked, and a
// child that breaks the protocol is treated as crashed.
#pragma once

#include <atomic>
#include <cstdint>

namespace vmm::isolation {

// The child's descriptors at exec: the channel and rpc sockets.
inline constexpr int kChannelFd = 3;
inline constexpr int kRpcFd = 4;

// ---- access slots ---------------------------------------------------------

enum SlotState : uint32_t { slot_idle = 0, slot_request = 1, slot_response = 2 };
enum SlotOp : uint32_t { op_read = 1, op_write = 2 };

struct alignas(64) AccessSlot {
    std::atomic<uint32_t> state; // the futex word: SlotState
    uint32_t op;                 // SlotOp (vmm writes)
    uint32_t region;
    uint32_t size;               // 1..8 bytes
    uint64_t offset;
    uint8_t data[8];             // little-endian; a write's value, a read's result
    int32_t status;              // the plugin's vmm_status (child writes)
    uint32_t messages_sent;      // channel messages the child sent before answering
    // Set by a side about to FUTEX_WAIT on `state` (and cleared after): the
    // other side makes the FUTEX_WAKE system call only then, so an access
    // answered while both spin costs no system call. Sequentially
    // consistent on both sides (store state / load flag vs store flag /
    // load state), so that a wake-up cannot be lost.
    std::atomic<uint32_t> child_waiting;
    std::atomic<uint32_t> vmm_waiting;
};
static_assert(sizeof(AccessSlot) == 64);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// At most 64 vCPUs plus the slot for other threads.
inline constexpr uint32_t kMaxSlots = 65;

// ---- socket messages ------------------------------------------------------

// Every message starts with this header; `type` says what follows.
struct MessageHeader {
    uint32_t type;
    uint32_t reserved;
};

enum MessageType : uint32_t {
    // vmm -> child, on the channel; each answered by msg_reply.
    msg_init = 1,    // plugin file, instance, settings, regions, memory layout; fds: slots, memory regions
    msg_realize = 2, // fds: the irqfd eventfds of the device's connected lines
    msg_quiesce = 3,
    msg_resume = 4,
    msg_save_state = 5,
    msg_load_state = 6, // fd: a memfd holding the blob
    msg_destroy = 7,
    msg_doorbell_rang = 8, // not answered: a doorbell's rings, for its callback
    // child -> vmm, on the channel.
    msg_reply = 20,             // status, captured error text; save_state: fd of a memfd with the blob
    msg_log = 21,               // level, text
    msg_request_stop = 22,      // exit status
    msg_sandbox_violation = 23, // what the plugin tried ("openat(\"/etc/passwd\")"); the child then dies
    // child -> vmm, the one message of `vmm-device-host --describe FILE`
    // (isolation/plugin_description.hpp): a DescribeOutcome, then its fields.
    msg_description = 24,
    // child -> vmm on rpc, each answered by msg_rpc_reply.
    msg_irq_set_level = 40,
    msg_msi_send = 41,
    msg_doorbell_add = 42,
    msg_doorbell_release = 43,
    msg_rpc_reply = 50,
};

// What `vmm-device-host --describe` found (msg_description's first field).
enum DescribeOutcome : uint32_t {
    describe_ok = 0,           // u32 abi version, then the descriptor
    describe_not_loadable = 1, // str dlerror()
    describe_no_version = 2,   // no vmm_plugin_abi_version
    describe_incompatible = 3, // u32 abi version (describe was not called)
    describe_no_entry = 4,     // u32 abi version; no vmm_plugin_describe
    describe_threw = 5,        // u32 abi version, str what()
    describe_null = 6,         // u32 abi version; describe returned NULL
    describe_no_sandbox = 7,   // str why the sandbox could not be entered
    describe_too_large = 8,    // u32 abi version, u32 bytes the description would take
};
// A description may be longer than other messages (1024 keys with their
// descriptions), but not longer than a SOCK_SEQPACKET datagram can be
// under the default socket buffer limits (net.core.wmem_max, 208 KiB).
inline constexpr uint32_t kMaxDescription = 192 * 1024;

// Sizes the reader enforces before it looks inside a message.
inline constexpr uint32_t kMaxMessage = 64 * 1024;
inline constexpr uint32_t kMaxFds = 64;
inline constexpr uint64_t kMaxStateBlob = 64ull << 20;

} // namespace vmm::isolation
