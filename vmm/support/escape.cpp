#include "support/escape.hpp"

#include "support/utf8.hpp"

#include <fmt/format.h>

namespace vmm {
namespace {

bool needs_escape(char32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) // C0, DEL, C1 (0x9b is a CSI)
           || cp == 0x2028 || cp == 0x2029                       // line and paragraph separators
           || (cp >= 0x200e && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) // bidirectional marks, embeddings, overrides, isolates
           || cp == 0xfeff;               // a zero-width no-break space (BOM)
}

} // namespace

std::string escaped(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto decoded = decode_utf8(text, i);
        if (!decoded) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[i]));
            ++i;
            continue;
        }
        const auto [cp, length] = *decoded;
        if (cp == '\n')
            out += "\\n";
        else if (cp == '\t')
            out += "\\t";
        else if (cp == '\r')
            out += "\\r";
        else if (cp < 0x80 && needs_escape(cp))
            out += fmt::format("\\x{:02x}", static_cast<unsigned>(cp));
        else if (needs_escape(cp))
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
        else
            out.append(text.substr(i, length));
        i += length;
    }
    return out;
}

} // namespace vmm
