// Building text inside a signal handler: no allocation, no locale, no
// stdio; appends to a fixed buffer and truncates when it is full.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmm {

class SignalSafeText {
public:
    SignalSafeText(char *buffer, std::size_t capacity) noexcept : buffer_(buffer), capacity_(capacity)
    {
        if (capacity_ > 0)
            buffer_[0] = '\0';
    }

    SignalSafeText &text(const char *s) noexcept
    {
        while (s != nullptr && *s != '\0')
            put(*s++);
        return *this;
    }
    // As a JSON string's contents: quotes, backslashes and control bytes
    // escaped (other bytes as they are).
    SignalSafeText &json(const char *s) noexcept
    {
        for (; s != nullptr && *s != '\0'; ++s) {
            const auto c = static_cast<unsigned char>(*s);
            if (c == '"' || c == '\\') {
                put('\\');
                put(static_cast<char>(c));
            } else if (c < 0x20 || c == 0x7f) {
                text("\\u00");
                put(kDigits[c >> 4]);
                put(kDigits[c & 0xf]);
            } else {
                put(static_cast<char>(c));
            }
        }
        return *this;
    }
    SignalSafeText &hex(uint64_t value) noexcept
    {
        char digits[16];
        int n = 0;
        do {
            digits[n++] = kDigits[value & 0xf];
            value >>= 4;
        } while (value != 0);
        text("0x");
        while (n > 0)
            put(digits[--n]);
        return *this;
    }
    SignalSafeText &number(int64_t value) noexcept
    {
        char digits[20];
        int n = 0;
        uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
        do {
            digits[n++] = static_cast<char>('0' + magnitude % 10);
            magnitude /= 10;
        } while (magnitude != 0);
        if (value < 0)
            put('-');
        while (n > 0)
            put(digits[--n]);
        return *this;
    }

    const char *c_str() const noexcept { return buffer_; }
    std::size_t size() const noexcept { return size_; }

private:
    static constexpr char kDigits[] = "0123456789abcdef";

    void put(char c) noexcept
    {
        if (size_ + 1 >= capacity_)
            return;
        buffer_[size_++] = c;
        buffer_[size_] = '\0';
    }

    char *buffer_;
    std::size_t capacity_;
    std::size_t size_ = 0;
};

} // namespace vmm
