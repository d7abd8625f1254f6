// The machine-file parser's shared state, private to vmm/config.
//
// One MachineParser reads one TOML document into a MachineSpec. Its sections
// live in one file each — machine_loader.cpp ([machine] and the entry points),
// cpu_section.cpp, image_section.cpp, device_section.cpp, check_section.cpp —
// and all of them report into the same Diagnostics, so a single run lists
// every problem in the file, each as `file:line:col: message`.
#pragma once

#include "config/machine_spec.hpp"
#include "config/toml_reader.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmm {

inline constexpr uint64_t kPageSize = 4096;

// A name of kRegisterNames (rax..r15, rsp, rbp, rip, rflags).
bool is_register(std::string_view name);

class MachineParser {
public:
    MachineParser(const toml::table &root, std::string source_name, const std::vector<std::filesystem::path> &guest_dirs)
        : root_(root), source_name_(std::move(source_name)), guest_dirs_(guest_dirs)
    {
    }

    // Throws InputErrors, all of them at once, when anything is wrong.
    MachineSpec parse();

private:
    void parse_machine_table(TableReader &top);

    void parse_cpu(TableReader &top);
    void parse_cpuid(const toml::table &table);
    void parse_registers(const toml::table &table);

    void parse_images(TableReader &top);
    void parse_image(const toml::table &table, const std::string &context);
    void parse_modules(const toml::array &modules, const std::string &context, ImageSpec &image);
    std::vector<std::filesystem::path> image_dirs() const;
    std::optional<std::filesystem::path> resolve_image(const std::string &file) const;
    std::optional<std::pair<std::filesystem::path, std::string>> find_non_regular(const std::string &file) const;
    std::string describe_image_dirs(const std::string &file) const;
    std::string image_origin_; // the file naming the image being resolved

    void parse_devices(TableReader &top);
    void parse_device(const toml::table &table, std::string context);
    void parse_ranges(TableReader &reader, Space space, const std::string &context, DeviceSpec &device);
    void parse_settings(const toml::table &table, const std::string &context, DeviceSpec &device);
    void parse_irqs(TableReader &reader, const std::string &context, DeviceSpec &device);
    std::optional<uint32_t> irq_line(const toml::node &node, const std::string &what, const std::string &context);

    void parse_checks(TableReader &top);
    void parse_check(const toml::table &table, const std::string &context);

    // Calls parse(table, context, node) for each element of an array of
    // tables, the context being "<what>[<index>]"; an element that is not a
    // table is reported as "<what>[<index>]: must be a table <shape>".
    template <class Parse>
    void for_each_table(const toml::array *array, std::string_view what, std::string_view shape, Parse parse)
    {
        if (array == nullptr)
            return;
        std::size_t index = 0;
        for (const toml::node &node : *array) {
            const std::string context = fmt::format("{}[{}]", what, index++);
            if (const toml::table *table = node.as_table())
                parse(*table, context, node);
            else
                diagnostics_.error(location_of(node), fmt::format("{}: must be a table {}", context, shape));
        }
    }

    const toml::table &root_;
    std::string source_name_;
    const std::vector<std::filesystem::path> &guest_dirs_;
    Diagnostics diagnostics_;
    MachineSpec spec_;
};

} // namespace vmm
