// `[cpu] mode = "user"`: what a HLT exit from the VMM's own exception
// handler means. The handler (vmm/boot/user_mode_tables.hpp) runs at CPL 0
// for every exception the guest's CPL 3 code raises, HLT included (HLT is
// privileged: #GP at CPL 3), pushes the vector over the CPU's frame and
// halts; the vCPU loop then asks take_user_trap what happened.
#pragma once

#include "boot/user_mode_tables.hpp"
#include "kvm/guest_memory.hpp"
#include "kvm/vcpu.hpp"

#include <cstdint>
#include <string>

namespace vmm {

struct UserModeTraps {
    x86::user::Layout layout;
    const GuestMemory &memory;
};

struct UserTrap {
    enum class Kind {
        none,      // not the handler: an ordinary HLT
        halt,      // the guest executed HLT at CPL 3: the vCPU ends, as in long mode
        exception, // any other exception: the VM ends (detail says which)
    };
    Kind kind = Kind::none;
    uint32_t vector = 0;
    uint64_t error_code = 0;
    uint64_t rip = 0; // the faulting instruction
    uint64_t cr2 = 0; // #PF: the address
    std::string detail;
};

// After a KVM_EXIT_HLT. For the handler's HLT it reads the frame from the
// vCPU's handler stack and puts the vCPU back into the interrupted CPL 3
// state (RIP after the HLT for a halt, at the faulting instruction for an
// exception), so that the end-of-run registers, checks and report show the
// guest's own. Throws SystemError if KVM refuses the registers.
UserTrap take_user_trap(const UserModeTraps &traps, Vcpu &vcpu);

// "#PF (page fault)" for vector 14; "vector 22 (reserved)" and so on.
std::string exception_name(uint32_t vector);

} // namespace vmm
