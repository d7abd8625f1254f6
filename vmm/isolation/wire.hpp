// Messages on the isolation sockets: a flat little-endian encoding written
// by Writer and read back by Reader, which checks every length against what
// is left, so that a message from a hostile child can only fail to decode.
// Sent and received whole (SOCK_SEQPACKET) with up to kMaxFds descriptors.
#pragma once

#include "isolation/channel.hpp"

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmm::isolation {

class Writer {
public:
    explicit Writer(uint32_t type)
    {
        MessageHeader header{type, 0};
        put_raw(&header, sizeof header);
    }
    Writer &u32(uint32_t v) { return put_raw(&v, sizeof v); }
    Writer &u64(uint64_t v) { return put_raw(&v, sizeof v); }
    Writer &i64(int64_t v) { return put_raw(&v, sizeof v); }
    Writer &f64(double v) { return put_raw(&v, sizeof v); }
    Writer &str(std::string_view s)
    {
        u32(static_cast<uint32_t>(s.size()));
        return put_raw(s.data(), s.size());
    }
    const std::vector<uint8_t> &bytes() const { return bytes_; }

private:
    Writer &put_raw(const void *p, std::size_t n)
    {
        // resize + memcpy, not insert: GCC 12 reports a false
        // -Wstringop-overflow for a range insert into an empty vector.
        if (n == 0)
            return *this;
        const std::size_t at = bytes_.size();
        bytes_.resize(at + n);
        std::memcpy(bytes_.data() + at, p, n);
        return *this;
    }
    std::vector<uint8_t> bytes_;
};

// Reads fields in order; once one does not fit, ok() is false for good and
// every later field reads as zero / empty.
class Reader {
public:
    Reader(const uint8_t *data, std::size_t size) : p_(data), left_(size)
    {
        MessageHeader header{};
        if (take(&header, sizeof header))
            type_ = header.type;
    }
    uint32_t type() const { return type_; }
    bool ok() const { return ok_; }
    bool at_end() const { return ok_ && left_ == 0; }
    uint32_t u32()
    {
        uint32_t v = 0;
        take(&v, sizeof v);
        return v;
    }
    uint64_t u64()
    {
        uint64_t v = 0;
        take(&v, sizeof v);
        return v;
    }
    int64_t i64()
    {
        int64_t v = 0;
        take(&v, sizeof v);
        return v;
    }
    double f64()
    {
        double v = 0;
        take(&v, sizeof v);
        return v;
    }
    std::string str(uint32_t max = kMaxMessage)
    {
        const uint32_t n = u32();
        if (!ok_ || n > max || n > left_) {
            ok_ = false;
            return {};
        }
        std::string s(reinterpret_cast<const char *>(p_), n);
        p_ += n;
        left_ -= n;
        return s;
    }

private:
    bool take(void *out, std::size_t n)
    {
        if (!ok_ || n > left_) {
            ok_ = false;
            return false;
        }
        std::memcpy(out, p_, n);
        p_ += n;
        left_ -= n;
        return true;
    }
    const uint8_t *p_;
    std::size_t left_;
    uint32_t type_ = 0;
    bool ok_ = true;
};

// A received message and the descriptors that came with it (owned: the
// receiver closes what it does not keep).
struct Message {
    std::vector<uint8_t> bytes;
    std::vector<int> fds;
    Message() = default;
    Message(Message &&other) noexcept : bytes(std::move(other.bytes)), fds(std::move(other.fds)) { other.fds.clear(); }
    Message &operator=(Message &&other) noexcept;
    Message(const Message &) = delete;
    Message &operator=(const Message &) = delete;
    ~Message();
    // Takes descriptor `i` (the message no longer closes it); -1 if absent.
    int take_fd(std::size_t i);
};

// Whole-message I/O on a SOCK_SEQPACKET socket, retrying EINTR. send_message
// returns false when the peer is gone; receive_message returns nothing on
// end of file or error, and refuses (nothing) a message cut short (MSG_TRUNC
// or MSG_CTRUNC): a peer cannot make the reader see half a message.
bool send_message(int socket, const Writer &message, const std::vector<int> &fds = {}, bool dont_wait = false);
std::optional<Message> receive_message(int socket, std::size_t max_bytes = kMaxMessage);

} // namespace vmm::isolation
