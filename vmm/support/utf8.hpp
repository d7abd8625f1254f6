// Strict UTF-8 decoding, for text from outside: machine files (which TOML++
// must never see malformed) and strings plugins hand the host (printed and
// written into JSON).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace vmm {

// Decodes the UTF-8 sequence at text[i]: its code point and length, or
// nothing for an invalid one (a stray or truncated sequence, an overlong
// form, a surrogate, a code point past U+10FFFF). i must be < text.size().
inline std::optional<std::pair<char32_t, std::size_t>> decode_utf8(std::string_view text, std::size_t i)
{
    const auto byte = [&](std::size_t k) { return static_cast<uint8_t>(text[k]); };
    const uint8_t lead = byte(i);
    if (lead < 0x80)
        return std::pair<char32_t, std::size_t>{lead, 1};
    std::size_t length = 0;
    char32_t cp = 0;
    if ((lead & 0xe0) == 0xc0)
        length = 2, cp = lead & 0x1f;
    else if ((lead & 0xf0) == 0xe0)
        length = 3, cp = lead & 0x0f;
    else if ((lead & 0xf8) == 0xf0)
        length = 4, cp = lead & 0x07;
    else
        return std::nullopt;
    if (i + length > text.size())
        return std::nullopt;
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xc0) != 0x80)
            return std::nullopt;
        cp = (cp << 6) | (byte(i + k) & 0x3f);
    }
    static constexpr char32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinimum[length] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return std::nullopt;
    return std::pair<char32_t, std::size_t>{cp, length};
}

// The offset of the first byte of `text` that does not start a valid
// UTF-8 sequence, if any.
inline std::optional<std::size_t> invalid_utf8_at(std::string_view text)
{
    for (std::size_t i = 0; i < text.size();) {
        const auto decoded = decode_utf8(text, i);
        if (!decoded)
            return i;
        i += decoded->second;
    }
    return std::nullopt;
}

} // namespace vmm
