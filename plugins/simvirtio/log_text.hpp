// log_text.hpp - the words simvirtio::Device's files share for log lines
// and error reasons: printf into a std::string, and a queue's name.
//
// Private to the device's .cpp files (simvirtio_core.hpp is its interface).
// The functions are inline so that no file owns them; the plugin's hidden
// visibility keeps them out of its exports.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <string>

namespace simvirtio {

__attribute__((format(printf, 1, 2))) inline std::string format(const char *fmt, ...)
{
    char buffer[256];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buffer, sizeof buffer, fmt, args);
    va_end(args);
    return buffer;
}

inline const char *queue_name(int q) { return q == 0 ? "TX (Q0)" : "RX (Q1)"; }

} // namespace simvirtio
