// Text from outside (machine files, plugins, the command line) echoed in a
// message: made printable and single-line, so that it can neither cut the
// message (a NUL ends what()), forge extra `file:line:col` lines (a
// newline), nor drive the terminal (ESC, C1 controls, bidi overrides).
#pragma once

#include <string>
#include <string_view>

namespace vmm {

// `text` with control characters (C0, DEL, C1), U+2028/U+2029, U+FEFF, the
// bidirectional controls and invalid UTF-8 written as escapes: \n, \t, \r,
// \xNN (a byte), \uNNNN (a code point). Printable text, ASCII or not, is
// kept as is, backslashes included: escaping twice changes nothing, so a
// message that quotes another can be escaped again.
std::string escaped(std::string_view text);

} // namespace vmm
