#include "debug/gdb_packet.hpp"

namespace vmm::gdb {
namespace {

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

constexpr char kDigits[] = "0123456789abcdef";

} // namespace

std::vector<FramedEvent> Framer::feed(std::string_view bytes)
{
    std::vector<FramedEvent> events;
    for (const char c : bytes) {
        switch (state_) {
        case State::idle:
            if (c == '$') {
                state_ = State::payload;
                payload_.clear();
                overflow_ = false;
                sum_ = 0;
            } else if (c == '\x03') {
                events.push_back({FramedEvent::Kind::interrupt, {}});
            } else if (c == '+') {
                events.push_back({FramedEvent::Kind::ack, {}});
            } else if (c == '-') {
                events.push_back({FramedEvent::Kind::nack, {}});
            } // anything else between packets is noise, ignored as gdbserver does
            break;
        case State::payload:
            if (c == '#') {
                state_ = State::checksum1;
            } else if (c == '$') {
                // A new start inside a packet: the old one was cut; start over.
                events.push_back({FramedEvent::Kind::bad, {}});
                payload_.clear();
                overflow_ = false;
                sum_ = 0;
            } else {
                sum_ = static_cast<uint8_t>(sum_ + static_cast<uint8_t>(c));
                if (payload_.size() < kMaxPacket)
                    payload_.push_back(c);
                else
                    overflow_ = true;
            }
            break;
        case State::checksum1:
            checksum_ = hex_value(c);
            state_ = checksum_ < 0 ? State::idle : State::checksum2;
            if (checksum_ < 0)
                events.push_back({FramedEvent::Kind::bad, {}});
            break;
        case State::checksum2: {
            const int low = hex_value(c);
            state_ = State::idle;
            if (low < 0 || overflow_ || ((checksum_ << 4) | low) != sum_) {
                events.push_back({FramedEvent::Kind::bad, {}});
                break;
            }
            events.push_back({FramedEvent::Kind::packet, std::move(payload_)});
            payload_.clear();
            break;
        }
        }
    }
    return events;
}

std::string frame(std::string_view payload)
{
    std::string out = "$";
    uint8_t sum = 0;
    for (const char c : payload) {
        if (c == '$' || c == '#' || c == '}' || c == '*') {
            out.push_back('}');
            sum = static_cast<uint8_t>(sum + '}');
            const char escaped = static_cast<char>(c ^ 0x20);
            out.push_back(escaped);
            sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(escaped));
        } else {
            out.push_back(c);
            sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
        }
    }
    out.push_back('#');
    out.push_back(kDigits[sum >> 4]);
    out.push_back(kDigits[sum & 15]);
    return out;
}

std::optional<std::string> unescape_binary(std::string_view data)
{
    std::string out;
    out.reserve(data.size());
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (data[i] != '}') {
            out.push_back(data[i]);
            continue;
        }
        if (++i == data.size())
            return std::nullopt;
        out.push_back(static_cast<char>(data[i] ^ 0x20));
    }
    return out;
}

std::string to_hex(const void *data, std::size_t size)
{
    const auto *bytes = static_cast<const uint8_t *>(data);
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(kDigits[bytes[i] >> 4]);
        out.push_back(kDigits[bytes[i] & 15]);
    }
    return out;
}

std::string to_hex(std::string_view text) { return to_hex(text.data(), text.size()); }

std::optional<std::vector<uint8_t>> decode_hex(std::string_view hex)
{
    if (hex.size() % 2 != 0)
        return std::nullopt;
    std::vector<uint8_t> out(hex.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int high = hex_value(hex[2 * i]), low = hex_value(hex[2 * i + 1]);
        if (high < 0 || low < 0)
            return std::nullopt;
        out[i] = static_cast<uint8_t>(high << 4 | low);
    }
    return out;
}

std::optional<uint64_t> parse_hex_number(std::string_view hex)
{
    if (hex.empty() || hex.size() > 16)
        return std::nullopt;
    uint64_t value = 0;
    for (const char c : hex) {
        const int digit = hex_value(c);
        if (digit < 0)
            return std::nullopt;
        value = value << 4 | static_cast<uint64_t>(digit);
    }
    return value;
}

} // namespace vmm::gdb
