/*
 * layout.h - where the SIMVIRTIO guests expect things; the machine files in
 * configs/machines/simvirtio*.toml must agree.
 *
 *   0x000      _start (guests/lib/start64.S)
 *   0x400      u32 result: 42 when the demo succeeded (checked by the machine)
 *   0x800      the device table (device_table_t, 88 bytes): the machine's
 *              `device_table` setting
 *   0x1000..   code, data, bss (buffers); below 0xf0000
 *   0x100000   top of RAM (1 MiB) and of the stack
 *   0xd0000000 the SIMVIRTIO device's MMIO region (0x1000 bytes)
 *   port 0xe9  debug console: diagnostics when something fails
 *   port 0xf4  debug-exit: the hostile guest's verdict; the demo's end in
 *              doorbell mode (where HLT waits for interrupts)
 *   IRQ 5      doorbell mode: the device's RX interrupt
 */
#ifndef SIMVIRTIO_GUEST_LAYOUT_H
#define SIMVIRTIO_GUEST_LAYOUT_H

#include <stdint.h>

#include "simvirtio.h"

#define SIMVIRTIO_GUEST_MMIO_BASE 0xd0000000u
#define SIMVIRTIO_GUEST_RESULT 0x400u
#define SIMVIRTIO_GUEST_DEVICE_TABLE 0x800u
#define SIMVIRTIO_GUEST_RAM_SIZE 0x100000u
#define SIMVIRTIO_GUEST_DEBUG_EXIT_PORT 0xf4
/* Doorbell mode (simvirtio-doorbell.toml): the device's RX interrupt is on
 * IRQ 5 of the in-kernel PIC (irqchip = true, irq = 5). */
#define SIMVIRTIO_GUEST_RX_IRQ 5

/* Linker symbols at those addresses (simvirtio.ld): gcc would flag a
 * dereference of a small constant address as out of bounds. */
extern volatile uint32_t simvirtio_result;
extern volatile device_table_t simvirtio_device_table;

#endif /* SIMVIRTIO_GUEST_LAYOUT_H */
