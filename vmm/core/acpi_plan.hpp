// Placing the ACPI tables of a machine with `[machine] acpi = true`: the
// FADT takes its register blocks and SCI line from the machine's acpi-pm
// device, the MADT one local APIC per vCPU; the block goes into the BIOS
// area of RAM, clear of every image and of the VMM's own tables.
#pragma once

#include "core/machine_plan.hpp"
#include "support/errors.hpp"

#include <vector>

namespace vmm {

// The plugin whose device the FADT describes.
inline constexpr const char *kAcpiPmPlugin = "acpi-pm";

// Adds the tables to plan.boot.ram_chunks and sets plan.acpi; problems are
// appended to `errors`, located in the machine file. Nothing happens
// without `acpi = true`.
void place_acpi_tables(const MachineSpec &spec, MachinePlan &plan, std::vector<InputError> &errors);

} // namespace vmm
