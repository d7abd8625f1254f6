// Reading a TOML machine file into a checked MachineSpec.
//
// Every problem is reported as `file:line:col: message`, all of them in one
// go, by throwing InputErrors; nothing here touches KVM or loads a plugin.
#pragma once

#include "config/machine_spec.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vmm {

// `guest_dirs` is where image files are looked for after the machine file's
// own directory.
// `sets` are --set KEY=VALUE overrides (overrides.hpp), applied to the
// parsed file before it is checked.
MachineSpec load_machine_file(const std::filesystem::path &file,
                              const std::vector<std::filesystem::path> &guest_dirs,
                              const std::vector<std::string> &sets = {});

// Same, from text already in memory; `source_name` appears in messages and
// its directory is where relative image paths are looked for first.
MachineSpec parse_machine(std::string_view text, const std::string &source_name,
                          const std::vector<std::filesystem::path> &guest_dirs,
                          const std::vector<std::string> &sets = {});

} // namespace vmm
