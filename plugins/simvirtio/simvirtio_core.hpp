// simvirtio_core.hpp - the SIMVIRTIO protocol, independent of the plugin SDK.
//
// `simvirtio::Device` is the whole device model: the config space, the two
// byte rings, the handshake state machine and the device table. It reaches
// the outside world only through three small interfaces (guest RAM, an
// output sink, a log), so a test or a fuzzer can drive it with memory it
// fills itself. It is not thread-safe: the caller serializes every call
// (the plugin adapter holds one mutex around it).
//
// The protocol is specified in README.md next to this file; the comments
// here say how the code implements it, not what it is.
//
// The implementation is one file per concept: config_space.cpp (registers,
// reads and writes), queues.cpp (the rings in both notify modes),
// lifecycle.cpp (the handshake and reset), errors.cpp (DEVICE_ERROR).
//
// Safety: the guest is untrusted. Every index, length and address it gives
// is read once into a local, validated against the queue and guest RAM, and
// only the validated copy is used. Guest RAM is reached only through
// pointers GuestRam::map returned for ranges checked at the time (a queue's
// buffer and control block when it is enabled, the device table when 'C'
// arrives), and every access through them stays inside those ranges.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace simvirtio {

// Register offsets in the device's MMIO region (README, "Config space").
namespace reg {
constexpr uint64_t kMagic = 0x00;        // u32 R
constexpr uint64_t kMaxQueueLen = 0x04;  // u16 R
constexpr uint64_t kDeviceStatus = 0x06; // u8  R
constexpr uint64_t kDriverStatus = 0x07; // u8  R/W
constexpr uint64_t kQueueSel = 0x08;     // u8  R/W
constexpr uint64_t kQ0Ctl = 0x09;        // u8  R/W
constexpr uint64_t kQ1Ctl = 0x0a;        // u8  R/W
constexpr uint64_t kNotifyMode = 0x0b;   // u8  R
constexpr uint64_t kError = 0x0c;        // u8  R
constexpr uint64_t kVersion = 0x0d;      // u8  R   (1.1) the protocol version, major << 4 | minor
constexpr uint64_t kQueueAddr = 0x10;    // u64 R/W, selected queue
constexpr uint64_t kQueueLen = 0x18;     // u32 R/W, selected queue
constexpr uint64_t kQueueCb = 0x20;      // u64 R/W, selected queue (poll and doorbell modes)
constexpr uint64_t kDeviceTable = 0x28;  // u64 R   (1.1) the device table's address; R/W when no setting gives it
constexpr uint64_t kRxMsgEnd = 0x30;     // u32 R   (1.1) RX index just past the last complete message
constexpr uint64_t kRxMsgCount = 0x34;   // u32 R   (1.1) complete messages put on RX since the last reset
constexpr uint64_t kQ0Head = 0x40;       // u32 R/W (exit mode)
constexpr uint64_t kQ0Tail = 0x44;       // u32 R   (exit mode)
constexpr uint64_t kQ1Head = 0x48;       // u32 R   (exit mode)
constexpr uint64_t kQ1Tail = 0x4c;       // u32 R/W (exit mode)
constexpr uint64_t kTxNotify = 0x40;     // u32 W   (1.1, doorbell mode) TX doorbell
constexpr uint64_t kRxNotify = 0x4c;     // u32 W   (1.1, doorbell mode) RX doorbell
constexpr uint64_t kSpaceSize = 0x100;   // the smallest region the device accepts
} // namespace reg

constexpr uint32_t kMagic = 0x74726976; // "virt", little-endian
constexpr uint8_t kProtocolVersion = 0x11; // 1.1; a 1.0 device reads 0 here

constexpr uint8_t kDeviceReset = 0x00;
constexpr uint8_t kDeviceConfig = 0x02;
constexpr uint8_t kDeviceReady = 0x04;
constexpr uint8_t kDeviceError = 0x80;

constexpr uint8_t kDriverAck = 0x00;
constexpr uint8_t kDriver = 0x02;
constexpr uint8_t kDriverOk = 0x04;
constexpr uint8_t kDriverReset = 0x80; // the assignment's 0x8000, moved into the u8 register
constexpr uint16_t kAssignmentDriverReset = 0x8000; // a 16-bit write of it at DRIVER_STATUS also resets (1.1)

constexpr uint8_t kQueueEnable = 0x01;
constexpr uint8_t kNotifyExit = 0;
constexpr uint8_t kNotifyPoll = 1;
constexpr uint8_t kNotifyDoorbell = 2;

// DEVICE_TABLE before the driver wrote it, when no setting gives it.
constexpr uint64_t kTableUnset = ~uint64_t{0};

constexpr uint32_t kMaxDevices = 10;       // device_table_t.device_addresses[10]
constexpr uint64_t kTableSize = 8 + 8 * 10; // u16 count, padding, 10 x u64

enum class Error : uint8_t {
    none = 0,
    out_of_order = 1,
    bad_selector = 2,
    bad_length = 3,
    bad_address = 4,
    bad_index = 5,
    table = 6,
    bad_driver_status = 7,
};
const char *error_name(Error error) noexcept;

// Guest RAM as the device may touch it.
class GuestRam {
public:
    virtual ~GuestRam() = default;
    // A host pointer to [gpa, gpa + size) when that range lies wholly inside
    // guest RAM, else nullptr. It must stay valid while the Device lives.
    // The guest may change the memory at any time.
    virtual uint8_t *map(uint64_t gpa, uint64_t size) = 0;
};

// Where TX data goes once the device is READY: one call per batch. It
// takes what it can now without blocking and returns how many bytes that
// was; the device moves the TX tail past those only, so the rest waits in
// the guest's own ring (a slow reader holds the guest back; nothing is
// dropped). A sink that failed for good returns `bytes.size()` (consumed,
// dropped) so that the guest does not stall.
class OutputSink {
public:
    virtual ~OutputSink() = default;
    virtual std::size_t write(std::span<const uint8_t> bytes) = 0;
};

enum class LogLevel { debug, info, warn };

class Log {
public:
    virtual ~Log() = default;
    virtual void log(LogLevel level, const std::string &message) = 0;
};

struct Config {
    uint64_t own_address = 0;      // the device's MMIO base, written into the device table
    std::optional<uint64_t> device_table; // guest-physical address of device_table_t; none: the guest writes it
    uint8_t notify = kNotifyExit;  // kNotifyExit, kNotifyPoll or kNotifyDoorbell
    uint32_t max_queue_length = 4096;
    std::string greeting;          // sent on RX when the device becomes READY
};

class Device {
public:
    Device(Config config, GuestRam &ram, OutputSink &out, Log &log);
    // Logs how often the device entered DEVICE_ERROR, if not every time was
    // logged as a warning. `log` must still be alive.
    ~Device();
    Device(const Device &) = delete;
    Device &operator=(const Device &) = delete;

    // How many DEVICE_ERROR entries are logged as warnings; after that only
    // their count is (README, "Errors").
    static constexpr uint64_t kWarnedErrors = 64;

    // A guest access of 1..8 bytes at `offset` in the device's region.
    void read(uint64_t offset, std::span<uint8_t> data);
    void write(uint64_t offset, std::span<const uint8_t> data);

    // Poll and doorbell modes: one pass over the control blocks in guest
    // RAM (consume TX, refill RX, check the indices). True if it moved
    // bytes. Exit mode: false.
    bool poll();

    uint8_t device_status() const noexcept;
    Error error() const noexcept { return error_; }
    bool poll_mode() const noexcept { return config_.notify == kNotifyPoll; }
    bool doorbell_mode() const noexcept { return config_.notify == kNotifyDoorbell; }
    // Bumped each time the device puts bytes on RX: the adapter pulses the
    // RX interrupt when it changed across a call.
    uint64_t rx_fills() const noexcept { return rx_fills_; }
    // TX holds bytes the output had no room for (consumed on a later pass).
    bool tx_backlogged() const noexcept { return tx_backlogged_; }

private:
    enum class Phase { idle, reset_seen, config, ready, error };

    struct Queue {
        // Configuration registers, as the driver wrote them.
        uint64_t address = 0;
        uint32_t length_reg = 0;
        uint64_t control_address = 0;
        // Latched and validated when the queue is enabled.
        bool enabled = false;
        uint32_t length = 0;
        uint8_t *buffer = nullptr;
        uint32_t *control = nullptr; // poll mode: {head, tail} in guest RAM
        // Exit mode: the index registers. Poll mode: only the device's own
        // index is kept here (TX tail, RX head); the other lives in RAM.
        uint32_t head = 0;
        uint32_t tail = 0;
    };
    static constexpr int kTx = 0;
    static constexpr int kRx = 1;

    struct RegisterInfo {
        uint64_t offset;
        uint32_t size;
        const char *name;
        bool writable;
        uint8_t modes; // bit n: present in notify mode n
    };
    static const std::array<RegisterInfo, 22> kRegisters;

    // The control blocks live in guest RAM (poll and doorbell modes).
    bool ram_indices() const noexcept { return config_.notify != kNotifyExit; }
    bool present(const RegisterInfo &r) const noexcept;
    bool writable(const RegisterInfo &r) const noexcept;
    uint64_t register_value(const RegisterInfo &r) const noexcept;
    void write_register(const RegisterInfo &r, uint64_t value);
    void note_ignored_bytes(uint64_t offset, std::size_t size, const std::array<bool, 8> &covered);

    void write_driver_status(uint8_t value);
    void write_queue_selector(uint64_t value);
    void write_queue_control(int q, uint8_t value);
    void write_queue_config(uint64_t offset, uint64_t value);
    void enable_queue(int q);
    void write_tx_head(uint32_t value);
    void write_rx_tail(uint32_t value);

    uint32_t load_tx_head() const noexcept;
    uint32_t load_rx_tail() const noexcept;
    void publish_tx_tail(uint32_t tail) noexcept;
    void publish_rx_head(uint32_t head) noexcept;

    // Each takes the guest's index as its caller read and checked it, so
    // that every index is read once per pass (README, "Safety").
    bool service_tx(uint32_t head); // true when an 'R' reset the device
    bool service_rx(uint32_t tail);
    bool fill_rx(); // reads the RX tail itself, then service_rx
    bool command(uint8_t byte, uint32_t head); // true when it reset the queues
    // `tx_head`: the TX head already read and checked (< length), if any;
    // without it the head is read here.
    void reset(bool from_r, std::optional<uint32_t> tx_head = std::nullopt);
    void reset_queues(std::optional<uint32_t> tx_head);
    void configure();

    void fail(Error error, const std::string &reason);
    void warn(const std::string &message) { log_.log(LogLevel::warn, message); }
    void debug(const std::string &message) { log_.log(LogLevel::debug, message); }

    Config config_;
    GuestRam &ram_;
    OutputSink &out_;
    Log &log_;

    Phase phase_ = Phase::idle;
    Error error_ = Error::none;
    uint8_t driver_status_ = kDriverAck;
    uint8_t selector_ = 0;
    std::array<Queue, 2> queues_{};
    std::vector<uint8_t> scratch_; // one TX batch, copied out of guest RAM
    std::string pending_;          // greeting bytes not yet in RX
    std::size_t pending_pos_ = 0;
    uint64_t table_register_ = 0;  // the DEVICE_TABLE register when no setting fixes it
    bool table_written_ = false;
    uint32_t rx_msg_end_ = 0;      // RX_MSG_END, RX_MSG_COUNT
    uint32_t rx_msg_count_ = 0;
    uint64_t rx_fills_ = 0;
    bool tx_backlogged_ = false;

    // "Logged once": reserved offsets below 0x100, read-only registers, and
    // one flag for everything beyond 0x100.
    std::array<bool, reg::kSpaceSize> ignored_logged_{};
    std::array<bool, 22> read_only_logged_{};
    bool beyond_logged_ = false;
    // Entries into DEVICE_ERROR so far: the first kWarnedErrors are warnings.
    uint64_t errors_ = 0;
};

} // namespace simvirtio
