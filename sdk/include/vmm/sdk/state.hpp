// vmm/sdk/state.hpp - a device's state as a versioned blob (ABI 1.3).
//
// The blob: "VMMSTATE", the format's name and version, the payload length,
// then the fields in the order written, little-endian. A reader checks the
// name, the version and every length against the bytes it was given:
// a blob from another device, a newer version or a truncated one raises
// StateError, which the plugin layer reports and turns into an error code.
//
//   std::vector<uint8_t> save_state() override {
//       vmm::sdk::StateWriter w("uart16550", 1);
//       w.u8(lcr_).bytes(pending_input_);
//       return w.finish();
//   }
//   void load_state(std::span<const uint8_t> blob) override {
//       vmm::sdk::StateReader r(blob, "uart16550", 1);
//       lcr_ = r.u8(); pending_input_ = r.bytes(); r.finish();
//   }
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vmm::sdk {

class StateError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline constexpr char kStateMagic[8] = {'V', 'M', 'M', 'S', 'T', 'A', 'T', 'E'};

class StateWriter {
public:
    StateWriter(std::string_view format, uint32_t version)
    {
        // Byte by byte: GCC 12 warns (wrongly) about insert() into an empty vector.
        for (char c : kStateMagic)
            bytes_.push_back(static_cast<uint8_t>(c));
        string(format);
        u32(version);
        length_at_ = bytes_.size();
        u64(0); // payload length, set by finish()
    }

    StateWriter &u8(uint8_t v) { return put(v, 1); }
    StateWriter &u16(uint16_t v) { return put(v, 2); }
    StateWriter &u32(uint32_t v) { return put(v, 4); }
    StateWriter &u64(uint64_t v) { return put(v, 8); }
    StateWriter &boolean(bool v) { return u8(v ? 1 : 0); }
    StateWriter &bytes(std::span<const uint8_t> data)
    {
        u64(data.size());
        for (uint8_t b : data)
            bytes_.push_back(b);
        return *this;
    }
    StateWriter &string(std::string_view text)
    {
        return bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(text.data()), text.size()));
    }

    std::vector<uint8_t> finish()
    {
        const uint64_t payload = bytes_.size() - length_at_ - 8;
        for (int i = 0; i < 8; ++i)
            bytes_[length_at_ + i] = static_cast<uint8_t>(payload >> (8 * i));
        return std::move(bytes_);
    }

private:
    StateWriter &put(uint64_t v, int width)
    {
        for (int i = 0; i < width; ++i)
            bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
        return *this;
    }

    std::vector<uint8_t> bytes_;
    std::size_t length_at_ = 0;
};

class StateReader {
public:
    // Throws StateError unless the blob is of `format`, at a version between
    // `min_version` and `max_version`.
    StateReader(std::span<const uint8_t> blob, std::string_view format, uint32_t max_version, uint32_t min_version = 1)
        : blob_(blob)
    {
        if (blob_.size() < sizeof kStateMagic || std::memcmp(blob_.data(), kStateMagic, sizeof kStateMagic) != 0)
            throw StateError("not a device state blob");
        at_ = sizeof kStateMagic;
        const std::string name = string();
        if (name != format)
            throw StateError("state of format '" + name + "', expected '" + std::string(format) + "'");
        version_ = u32();
        if (version_ < min_version || version_ > max_version)
            throw StateError("state format '" + name + "' version " + std::to_string(version_) +
                             " is not supported (this plugin reads " + std::to_string(min_version) + " to " +
                             std::to_string(max_version) + ")");
        const uint64_t payload = u64();
        if (payload != blob_.size() - at_)
            throw StateError("state blob length does not match its header");
    }

    uint32_t version() const { return version_; }
    uint8_t u8() { return static_cast<uint8_t>(get(1)); }
    uint16_t u16() { return static_cast<uint16_t>(get(2)); }
    uint32_t u32() { return static_cast<uint32_t>(get(4)); }
    uint64_t u64() { return get(8); }
    bool boolean() { return u8() != 0; }
    std::vector<uint8_t> bytes()
    {
        const uint64_t length = u64();
        need(length);
        std::vector<uint8_t> data(blob_.begin() + static_cast<std::ptrdiff_t>(at_),
                                  blob_.begin() + static_cast<std::ptrdiff_t>(at_ + length));
        at_ += length;
        return data;
    }
    std::string string()
    {
        const std::vector<uint8_t> data = bytes();
        return std::string(data.begin(), data.end());
    }
    // Throws unless every byte was read: a longer blob is another layout.
    void finish() const
    {
        if (at_ != blob_.size())
            throw StateError("state blob has " + std::to_string(blob_.size() - at_) + " unread bytes");
    }

private:
    void need(uint64_t n) const
    {
        if (n > blob_.size() - at_)
            throw StateError("state blob is truncated");
    }
    uint64_t get(int width)
    {
        need(static_cast<uint64_t>(width));
        uint64_t v = 0;
        for (int i = 0; i < width; ++i)
            v |= uint64_t{blob_[at_ + i]} << (8 * i);
        at_ += static_cast<std::size_t>(width);
        return v;
    }

    std::span<const uint8_t> blob_;
    std::size_t at_ = 0;
    uint32_t version_ = 0;
};

} // namespace vmm::sdk
