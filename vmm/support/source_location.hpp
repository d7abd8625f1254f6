// Where something came from in a machine file, for `file:line:col` messages.
#pragma once

#include <cstdint>
#include <string>

namespace vmm {

struct SourceLocation {
    std::string file;
    uint32_t line = 0;
    uint32_t column = 0;

    bool known() const { return !file.empty(); }
    // "file:line:col", or "file" when the position is unknown.
    std::string str() const
    {
        if (line == 0)
            return file;
        return file + ":" + std::to_string(line) + ":" + std::to_string(column);
    }
};

} // namespace vmm
