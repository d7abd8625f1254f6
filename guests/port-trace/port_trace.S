/*
 * port-trace: the guest of the chapter-2 experiment (seed 003, guest_test.S),
 * unchanged.
 *
 * Real mode, loaded flat at 0 and entered at 0: three 16-bit OUTs to port
 * 0x10 with the values 0, 1 and 2, then HLT. Each OUT is one KVM_EXIT_IO.
 *
 * What it proves: every port write reaches the device owning the port with
 * its size and value; the port-logger plugin on 0x10-0x11 logs the three
 * accesses in order (size 2, values 0x0000, 0x0001, 0x0002).
 */
.globl _start
    .code16
_start:
    xorw %ax, %ax

    out %ax, $0x10
    inc %ax
    out %ax, $0x10
    inc %ax
    out %ax, $0x10

    hlt
