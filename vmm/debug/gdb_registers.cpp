#include "debug/gdb_registers.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>

namespace vmm::gdb {
namespace {

enum class Group { gp, rip, eflags, segment, st, x87_control, xmm, mxcsr, base, control };

struct RegisterInfo {
    const char *name;
    std::size_t size;
    Group group;
    int index; // within its group
};

constexpr std::array<RegisterInfo, 65> kRegisters = {{
    {"rax", 8, Group::gp, 0},      {"rbx", 8, Group::gp, 1},      {"rcx", 8, Group::gp, 2},
    {"rdx", 8, Group::gp, 3},      {"rsi", 8, Group::gp, 4},      {"rdi", 8, Group::gp, 5},
    {"rbp", 8, Group::gp, 6},      {"rsp", 8, Group::gp, 7},      {"r8", 8, Group::gp, 8},
    {"r9", 8, Group::gp, 9},       {"r10", 8, Group::gp, 10},     {"r11", 8, Group::gp, 11},
    {"r12", 8, Group::gp, 12},     {"r13", 8, Group::gp, 13},     {"r14", 8, Group::gp, 14},
    {"r15", 8, Group::gp, 15},     {"rip", 8, Group::rip, 0},     {"eflags", 4, Group::eflags, 0},
    {"cs", 4, Group::segment, 0},  {"ss", 4, Group::segment, 1},  {"ds", 4, Group::segment, 2},
    {"es", 4, Group::segment, 3},  {"fs", 4, Group::segment, 4},  {"gs", 4, Group::segment, 5},
    {"st0", 10, Group::st, 0},     {"st1", 10, Group::st, 1},     {"st2", 10, Group::st, 2},
    {"st3", 10, Group::st, 3},     {"st4", 10, Group::st, 4},     {"st5", 10, Group::st, 5},
    {"st6", 10, Group::st, 6},     {"st7", 10, Group::st, 7},     {"fctrl", 4, Group::x87_control, 0},
    {"fstat", 4, Group::x87_control, 1}, {"ftag", 4, Group::x87_control, 2}, {"fiseg", 4, Group::x87_control, 3},
    {"fioff", 4, Group::x87_control, 4}, {"foseg", 4, Group::x87_control, 5}, {"fooff", 4, Group::x87_control, 6},
    {"fop", 4, Group::x87_control, 7},
    {"xmm0", 16, Group::xmm, 0},   {"xmm1", 16, Group::xmm, 1},   {"xmm2", 16, Group::xmm, 2},
    {"xmm3", 16, Group::xmm, 3},   {"xmm4", 16, Group::xmm, 4},   {"xmm5", 16, Group::xmm, 5},
    {"xmm6", 16, Group::xmm, 6},   {"xmm7", 16, Group::xmm, 7},   {"xmm8", 16, Group::xmm, 8},
    {"xmm9", 16, Group::xmm, 9},   {"xmm10", 16, Group::xmm, 10}, {"xmm11", 16, Group::xmm, 11},
    {"xmm12", 16, Group::xmm, 12}, {"xmm13", 16, Group::xmm, 13}, {"xmm14", 16, Group::xmm, 14},
    {"xmm15", 16, Group::xmm, 15}, {"mxcsr", 4, Group::mxcsr, 0},
    {"fs_base", 8, Group::base, 0}, {"gs_base", 8, Group::base, 1},
    {"cr0", 8, Group::control, 0}, {"cr2", 8, Group::control, 1}, {"cr3", 8, Group::control, 2},
    {"cr4", 8, Group::control, 3}, {"cr8", 8, Group::control, 4}, {"efer", 8, Group::control, 5},
}};

// gdb's i386 register set: 32-bit general registers in gdb's order (as
// indexes of gdb's 64-bit order), eip, eflags, segments, x87, xmm0-7,
// mxcsr, then the same segment bases and control registers.
constexpr std::array<RegisterInfo, 49> kRegisters32 = {{
    {"eax", 4, Group::gp, 0},      {"ecx", 4, Group::gp, 2},      {"edx", 4, Group::gp, 3},
    {"ebx", 4, Group::gp, 1},      {"esp", 4, Group::gp, 7},      {"ebp", 4, Group::gp, 6},
    {"esi", 4, Group::gp, 4},      {"edi", 4, Group::gp, 5},      {"eip", 4, Group::rip, 0},
    {"eflags", 4, Group::eflags, 0},
    {"cs", 4, Group::segment, 0},  {"ss", 4, Group::segment, 1},  {"ds", 4, Group::segment, 2},
    {"es", 4, Group::segment, 3},  {"fs", 4, Group::segment, 4},  {"gs", 4, Group::segment, 5},
    {"st0", 10, Group::st, 0},     {"st1", 10, Group::st, 1},     {"st2", 10, Group::st, 2},
    {"st3", 10, Group::st, 3},     {"st4", 10, Group::st, 4},     {"st5", 10, Group::st, 5},
    {"st6", 10, Group::st, 6},     {"st7", 10, Group::st, 7},     {"fctrl", 4, Group::x87_control, 0},
    {"fstat", 4, Group::x87_control, 1}, {"ftag", 4, Group::x87_control, 2}, {"fiseg", 4, Group::x87_control, 3},
    {"fioff", 4, Group::x87_control, 4}, {"foseg", 4, Group::x87_control, 5}, {"fooff", 4, Group::x87_control, 6},
    {"fop", 4, Group::x87_control, 7},
    {"xmm0", 16, Group::xmm, 0},   {"xmm1", 16, Group::xmm, 1},   {"xmm2", 16, Group::xmm, 2},
    {"xmm3", 16, Group::xmm, 3},   {"xmm4", 16, Group::xmm, 4},   {"xmm5", 16, Group::xmm, 5},
    {"xmm6", 16, Group::xmm, 6},   {"xmm7", 16, Group::xmm, 7},   {"mxcsr", 4, Group::mxcsr, 0},
    {"fs_base", 4, Group::base, 0}, {"gs_base", 4, Group::base, 1},
    {"cr0", 8, Group::control, 0}, {"cr2", 8, Group::control, 1}, {"cr3", 8, Group::control, 2},
    {"cr4", 8, Group::control, 3}, {"cr8", 8, Group::control, 4}, {"efer", 8, Group::control, 5},
}};

std::span<const RegisterInfo> table(Arch arch)
{
    if (arch != Arch::x86_64)
        return kRegisters32;
    return kRegisters;
}

__u64 *gp_slot(kvm_regs &regs, int index)
{
    // kvm_regs' order: rax rbx rcx rdx rsi rdi rsp rbp r8..r15 — rsp and
    // rbp are swapped relative to gdb's.
    switch (index) {
    case 0: return &regs.rax;
    case 1: return &regs.rbx;
    case 2: return &regs.rcx;
    case 3: return &regs.rdx;
    case 4: return &regs.rsi;
    case 5: return &regs.rdi;
    case 6: return &regs.rbp;
    case 7: return &regs.rsp;
    case 8: return &regs.r8;
    case 9: return &regs.r9;
    case 10: return &regs.r10;
    case 11: return &regs.r11;
    case 12: return &regs.r12;
    case 13: return &regs.r13;
    case 14: return &regs.r14;
    default: return &regs.r15;
    }
}

kvm_segment &segment(kvm_sregs &sregs, int index)
{
    switch (index) {
    case 0: return sregs.cs;
    case 1: return sregs.ss;
    case 2: return sregs.ds;
    case 3: return sregs.es;
    case 4: return sregs.fs;
    default: return sregs.gs;
    }
}

__u64 *control_slot(kvm_sregs &sregs, int index)
{
    switch (index) {
    case 0: return &sregs.cr0;
    case 1: return &sregs.cr2;
    case 2: return &sregs.cr3;
    case 3: return &sregs.cr4;
    case 4: return &sregs.cr8;
    default: return &sregs.efer;
    }
}

// The full x87 tag word from FXSAVE's abridged one: a valid register is
// reported as "valid" (00), an empty one as "empty" (11). (Zero and special
// are not told apart; gdb only shows the word.)
uint32_t full_tag_word(uint8_t abridged)
{
    uint32_t tags = 0;
    for (int i = 0; i < 8; ++i)
        tags |= ((abridged >> i) & 1 ? 0u : 3u) << (2 * i);
    return tags;
}

uint8_t abridged_tag_word(uint32_t full)
{
    uint8_t tags = 0;
    for (int i = 0; i < 8; ++i)
        tags |= static_cast<uint8_t>(((full >> (2 * i)) & 3) != 3 ? 1 << i : 0);
    return tags;
}

// Where a register's bytes live, for the ones that are plain memory.
void *plain_storage(RegisterFile &file, const RegisterInfo &info)
{
    switch (info.group) {
    case Group::gp: return gp_slot(file.regs, info.index);
    case Group::rip: return &file.regs.rip;
    case Group::st: return file.fpu.fpr[info.index];
    case Group::xmm: return file.fpu.xmm[info.index];
    case Group::mxcsr: return &file.fpu.mxcsr;
    case Group::base: return info.index == 0 ? &file.sregs.fs.base : &file.sregs.gs.base;
    case Group::control: return control_slot(file.sregs, info.index);
    default: return nullptr;
    }
}

uint32_t x87_control_value(const kvm_fpu &fpu, int index)
{
    switch (index) {
    case 0: return fpu.fcw;
    case 1: return fpu.fsw;
    case 2: return full_tag_word(fpu.ftwx);
    case 4: return static_cast<uint32_t>(fpu.last_ip);
    case 6: return static_cast<uint32_t>(fpu.last_dp);
    case 7: return fpu.last_opcode;
    default: return 0; // fiseg, foseg: FXSAVE's 64-bit format has none
    }
}

} // namespace

std::size_t register_count(Arch arch) { return table(arch).size(); }

std::size_t register_size(Arch arch, std::size_t number)
{
    const auto registers = table(arch);
    return number < registers.size() ? registers[number].size : 0;
}

std::string_view register_name(Arch arch, std::size_t number)
{
    const auto registers = table(arch);
    return number < registers.size() ? registers[number].name : "";
}

std::optional<std::vector<uint8_t>> read_register(Arch arch, const RegisterFile &file, std::size_t number)
{
    const auto registers = table(arch);
    if (number >= registers.size())
        return std::nullopt;
    const RegisterInfo &info = registers[number];
    std::vector<uint8_t> bytes(info.size);
    RegisterFile &mutable_file = const_cast<RegisterFile &>(file); // plain_storage only reads here
    if (const void *storage = plain_storage(mutable_file, info)) {
        std::memcpy(bytes.data(), storage, info.size);
        return bytes;
    }
    uint32_t value = 0;
    switch (info.group) {
    case Group::eflags: value = static_cast<uint32_t>(file.regs.rflags); break;
    case Group::segment: value = segment(mutable_file.sregs, info.index).selector; break;
    case Group::x87_control: value = x87_control_value(file.fpu, info.index); break;
    default: break;
    }
    std::memcpy(bytes.data(), &value, 4);
    return bytes;
}

std::optional<std::string> write_register(Arch arch, RegisterFile &file, std::size_t number,
                                          std::span<const uint8_t> bytes)
{
    const auto registers = table(arch);
    if (number >= registers.size())
        return fmt::format("no register {}", number);
    const RegisterInfo &info = registers[number];
    if (bytes.size() != info.size)
        return fmt::format("register {} has {} bytes, not {}", info.name, info.size, bytes.size());
    if (void *storage = plain_storage(file, info)) {
        std::memcpy(storage, bytes.data(), info.size);
        return std::nullopt;
    }
    uint32_t value = 0;
    std::memcpy(&value, bytes.data(), 4);
    switch (info.group) {
    case Group::eflags: file.regs.rflags = (file.regs.rflags & ~0xffffffffull) | value; break;
    case Group::segment: {
        kvm_segment &seg = segment(file.sregs, info.index);
        if (seg.selector == value)
            break;
        if ((file.sregs.cr0 & 1) != 0)
            return fmt::format("{} can be changed only in real mode (elsewhere its descriptor would have to be loaded)",
                               info.name);
        if (value > 0xffff)
            return fmt::format("{} = {:#x} is not a 16-bit selector", info.name, value);
        seg.selector = static_cast<uint16_t>(value);
        seg.base = uint64_t{value} << 4;
        break;
    }
    case Group::x87_control:
        switch (info.index) {
        case 0: file.fpu.fcw = static_cast<uint16_t>(value); break;
        case 1: file.fpu.fsw = static_cast<uint16_t>(value); break;
        case 2: file.fpu.ftwx = abridged_tag_word(value); break;
        case 4: file.fpu.last_ip = (file.fpu.last_ip & ~0xffffffffull) | value; break;
        case 6: file.fpu.last_dp = (file.fpu.last_dp & ~0xffffffffull) | value; break;
        case 7: file.fpu.last_opcode = static_cast<uint16_t>(value); break;
        default: break; // fiseg, foseg: not kept
        }
        break;
    default: break;
    }
    return std::nullopt;
}

std::vector<uint8_t> read_all(Arch arch, const RegisterFile &file)
{
    std::vector<uint8_t> all;
    for (std::size_t i = 0; i < table(arch).size(); ++i) {
        const auto bytes = read_register(arch, file, i);
        all.insert(all.end(), bytes->begin(), bytes->end());
    }
    return all;
}

std::optional<std::string> write_all(Arch arch, RegisterFile &file, std::span<const uint8_t> bytes)
{
    const auto registers = table(arch);
    std::size_t offset = 0;
    for (std::size_t i = 0; i < registers.size() && offset < bytes.size(); ++i) {
        const std::size_t size = registers[i].size;
        if (bytes.size() - offset < size)
            return fmt::format("G data ends inside register {}", registers[i].name);
        if (auto error = write_register(arch, file, i, bytes.subspan(offset, size)))
            return error;
        offset += size;
    }
    if (offset != bytes.size())
        return "G data is longer than the register file";
    return std::nullopt;
}

namespace {

std::string make_xml(Arch arch)
{
    {
        std::string text = R"(<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
<architecture>ARCH</architecture>
<feature name="org.gnu.gdb.i386.core">
<flags id="i386_eflags" size="4">
<field name="CF" start="0" end="0"/><field name="" start="1" end="1"/><field name="PF" start="2" end="2"/>
<field name="AF" start="4" end="4"/><field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/>
<field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/><field name="DF" start="10" end="10"/>
<field name="OF" start="11" end="11"/><field name="NT" start="14" end="14"/><field name="RF" start="16" end="16"/>
<field name="VM" start="17" end="17"/><field name="AC" start="18" end="18"/><field name="VIF" start="19" end="19"/>
<field name="VIP" start="20" end="20"/><field name="ID" start="21" end="21"/>
</flags>
)";
        auto reg = [&text](std::string_view name, std::size_t bits, std::string_view type, std::string_view group) {
            text += fmt::format("<reg name=\"{}\" bitsize=\"{}\" type=\"{}\"{}/>\n", name, bits, type,
                                group.empty() ? std::string() : fmt::format(" group=\"{}\"", group));
        };
        const auto registers = table(arch);
        const std::size_t wide = arch == Arch::x86_64 ? 64 : 32;
        const std::size_t general = arch == Arch::x86_64 ? 16 : 8;
        for (std::size_t i = 0; i < general; ++i) {
            const std::string_view name = registers[i].name;
            const bool pointer = name == "rsp" || name == "rbp" || name == "esp" || name == "ebp";
            reg(name, wide, pointer ? "data_ptr" : wide == 64 ? "int64" : "int32", "general");
        }
        reg(registers[general].name, wide, "code_ptr", "general");
        reg("eflags", 32, "i386_eflags", "general");
        for (std::size_t i = general + 2; i < general + 8; ++i)
            reg(registers[i].name, 32, "int32", "general");
        for (std::size_t i = general + 8; i < general + 16; ++i)
            reg(registers[i].name, 80, "i387_ext", "");
        for (std::size_t i = general + 16; i < general + 24; ++i)
            reg(registers[i].name, 32, "int", "float");
        text += R"(</feature>
<feature name="org.gnu.gdb.i386.sse">
<vector id="v8bf16" type="bfloat16" count="8"/><vector id="v4f" type="ieee_single" count="4"/>
<vector id="v2d" type="ieee_double" count="2"/><vector id="v16i8" type="int8" count="16"/>
<vector id="v8i16" type="int16" count="8"/><vector id="v4i32" type="int32" count="4"/>
<vector id="v2i64" type="int64" count="2"/>
<union id="vec128"><field name="v8_bfloat16" type="v8bf16"/><field name="v4_float" type="v4f"/>
<field name="v2_double" type="v2d"/><field name="v16_int8" type="v16i8"/><field name="v8_int16" type="v8i16"/>
<field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/><field name="uint128" type="uint128"/></union>
<flags id="i386_mxcsr" size="4">
<field name="IE" start="0" end="0"/><field name="DE" start="1" end="1"/><field name="ZE" start="2" end="2"/>
<field name="OE" start="3" end="3"/><field name="UE" start="4" end="4"/><field name="PE" start="5" end="5"/>
<field name="DAZ" start="6" end="6"/><field name="IM" start="7" end="7"/><field name="DM" start="8" end="8"/>
<field name="ZM" start="9" end="9"/><field name="OM" start="10" end="10"/><field name="UM" start="11" end="11"/>
<field name="PM" start="12" end="12"/><field name="FZ" start="15" end="15"/>
</flags>
)";
        const std::size_t xmm = general + 24, xmm_count = arch == Arch::x86_64 ? 16 : 8;
        for (std::size_t i = xmm; i < xmm + xmm_count; ++i)
            reg(registers[i].name, 128, "vec128", "vector");
        reg("mxcsr", 32, "i386_mxcsr", "vector");
        // gdb 13 numbers i386 segment bases beyond its 32-bit register
        // set (an assertion fails), so there they go with ours.
        if (arch == Arch::x86_64)
            text += "</feature>\n<feature name=\"org.gnu.gdb.i386.segments\">\n";
        else
            text += "</feature>\n<feature name=\"org.vmm.x86.control\">\n";
        reg("fs_base", wide, "int", "");
        reg("gs_base", wide, "int", "");
        if (arch == Arch::x86_64)
            text += "</feature>\n<feature name=\"org.vmm.x86.control\">\n";
        for (std::size_t i = registers.size() - 6; i < registers.size(); ++i)
            reg(registers[i].name, 64, "int64", "system");
        text += "</feature>\n</target>\n";
        const auto at = text.find("ARCH");
        text.replace(at, 4, arch == Arch::x86_64 ? "i386:x86-64" : arch == Arch::i386 ? "i386" : "i8086");
        return text;
    }
}

} // namespace

const std::string &target_xml(Arch arch)
{
    static const std::string wide = make_xml(Arch::x86_64), narrow = make_xml(Arch::i386),
                             real = make_xml(Arch::i8086);
    return arch == Arch::x86_64 ? wide : arch == Arch::i386 ? narrow : real;
}

} // namespace vmm::gdb
