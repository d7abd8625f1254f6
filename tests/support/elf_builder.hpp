// Builds small ELF executables in memory, for loader tests, so that every
// malformation can be made on purpose.
#pragma once

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace vmm::test {

struct SegmentDef {
    uint64_t paddr;
    std::vector<uint8_t> bytes;
    uint64_t memsz = 0; // 0: bytes.size()
    uint64_t vaddr = ~0ull; // ~0: paddr
};

// An x86-64 ET_EXEC with one PT_LOAD per segment, data after the headers.
inline std::vector<uint8_t> make_elf64(const std::vector<SegmentDef> &segments, uint64_t entry)
{
    const uint64_t headers = sizeof(Elf64_Ehdr) + segments.size() * sizeof(Elf64_Phdr);
    std::vector<uint8_t> file(headers);
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_entry = entry;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = static_cast<Elf64_Half>(segments.size());
    std::memcpy(file.data(), &eh, sizeof eh);
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const SegmentDef &s = segments[i];
        Elf64_Phdr ph{};
        ph.p_type = PT_LOAD;
        ph.p_offset = file.size();
        ph.p_paddr = s.paddr;
        ph.p_vaddr = s.vaddr == ~0ull ? s.paddr : s.vaddr;
        ph.p_filesz = s.bytes.size();
        ph.p_memsz = s.memsz ? s.memsz : s.bytes.size();
        ph.p_flags = PF_R | PF_X;
        ph.p_align = 0x1000;
        std::memcpy(file.data() + sizeof eh + i * sizeof ph, &ph, sizeof ph);
        file.insert(file.end(), s.bytes.begin(), s.bytes.end());
    }
    return file;
}

inline Elf64_Ehdr *header64(std::vector<uint8_t> &file) { return reinterpret_cast<Elf64_Ehdr *>(file.data()); }
inline Elf64_Phdr *phdr64(std::vector<uint8_t> &file, std::size_t i)
{
    return reinterpret_cast<Elf64_Phdr *>(file.data() + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

} // namespace vmm::test
