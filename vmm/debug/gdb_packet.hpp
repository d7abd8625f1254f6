// GDB remote serial protocol framing: `$payload#cs` packets, `+`/`-`
// acknowledgements and the out-of-band Ctrl-C byte (0x03), read from an
// untrusted byte stream one chunk at a time.
//
// The framer never grows without bound: a packet longer than kMaxPacket is
// dropped whole (and answered `-`, as a bad checksum is), so a debugger that
// sends an endless packet costs a fixed buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmm::gdb {

// The largest packet we accept and announce (qSupported PacketSize).
inline constexpr std::size_t kMaxPacket = 16384;

struct FramedEvent {
    enum class Kind {
        packet,    // a packet with a good checksum: payload holds it, unescaped
        bad,       // a bad checksum or an over-long packet: answer `-`
        interrupt, // Ctrl-C outside a packet
        ack,       // `+`
        nack,      // `-`: resend the last reply
    } kind = Kind::packet;
    std::string payload;
};

class Framer {
public:
    // Feeds bytes; returns what they completed, in order.
    std::vector<FramedEvent> feed(std::string_view bytes);
    // True while a packet has started and not ended (a debugger that
    // disconnects now leaves it unfinished; that is harmless).
    bool in_packet() const { return state_ != State::idle; }

private:
    enum class State { idle, payload, checksum1, checksum2 };
    State state_ = State::idle;
    std::string payload_;
    bool overflow_ = false;
    uint8_t sum_ = 0;
    int checksum_ = 0;
};

// Builds `$payload#cs`, escaping `$`, `#`, `}` and `*` as the protocol asks.
std::string frame(std::string_view payload);

// Undoes the binary escaping of X packets (`}` then byte ^ 0x20). Returns
// nothing if the data ends in the middle of an escape.
std::optional<std::string> unescape_binary(std::string_view data);

// Hex helpers. decode_hex: nothing for an odd length or a non-hex digit.
std::string to_hex(const void *data, std::size_t size);
std::string to_hex(std::string_view text);
std::optional<std::vector<uint8_t>> decode_hex(std::string_view hex);
// A big-endian hex number as the protocol writes addresses and lengths (at
// most 16 digits), or nothing.
std::optional<uint64_t> parse_hex_number(std::string_view hex);

} // namespace vmm::gdb
