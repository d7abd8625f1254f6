// --set KEY=VALUE: a machine-file value given on the command line.
//
// The override is written into the parsed TOML tree before the machine
// parser reads it, so it is checked exactly like the file. Its nodes (and
// any key it adds) carry a source named after the option, "--set KEY=VALUE",
// which location_of() reports without a line and column: every message
// about an override names the option that gave it.
#pragma once

#include <toml++/toml.h>

#include <string>
#include <string_view>
#include <vector>

namespace vmm {

// The source name overrides' nodes carry: "--set " + the option's text.
bool is_override_source(std::string_view source_name);

// KEY is dotted: machine.memory, cpu.registers.rax, device.NAME.settings.KEY
// (device.NAME picks the [[device]] named NAME), image.N.file and check.N.equals
// (N counts from 0). VALUE is read as a TOML value (42, 0x1000, true, "text",
// [1, 2], { base = 1, size = 2 }) and, when it is not one, taken as a string
// (64M, hello world). Throws InputErrors naming each option that cannot be
// applied.
void apply_overrides(toml::table &root, const std::vector<std::string> &sets, const std::string &machine_file);

} // namespace vmm
