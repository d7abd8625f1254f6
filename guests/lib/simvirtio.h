/*
 * simvirtio.h - a driver for the SIMVIRTIO device (plugins/simvirtio).
 *
 * The protocol is specified in plugins/simvirtio/README.md; this header
 * repeats its constants. The driver works in both notify modes, which it
 * learns from the config space (SIMVIRTIO_REG_NOTIFY_MODE):
 *
 *   exit: each queue's control block {head, tail} is a pair of MMIO
 *         registers (base + 0x40 for TX, base + 0x48 for RX); every index
 *         access is a VM exit, and a TX head write makes the device consume
 *         at once.
 *   poll: each control block lives in guest RAM, inside simvirtio_t; the
 *         device polls it from its own thread, so data moves without exits.
 *   doorbell (1.1): the control blocks live in RAM as in poll mode; after
 *         publishing a TX head or an RX tail the driver writes the queue's
 *         doorbell register (a 4-byte write KVM absorbs as an ioeventfd:
 *         no exit to userspace), and the device drains TX / refills RX on
 *         its event loop. With `irq = N` the device also pulses line N
 *         each time it puts bytes on RX, so a driver may sleep in HLT.
 *
 * Freestanding C for long-mode guests; it also builds for i386 (32-bit
 * protected mode: the ring copies use movsl there, 64-bit registers are
 * accessed as the compiler splits them, which the device allows), and the
 * build compiles it for i386 to keep that true, though no i386 guest runs
 * it yet. It assumes identity mapping: the addresses of the buffers and of the simvirtio_t it
 * hands the device are guest-physical. It keeps no hidden state: everything
 * is in the caller's simvirtio_t, buffers are the caller's. Needs nothing
 * else from guests/lib.
 *
 * Memory ordering (x86 is TSO, so compiler barriers suffice): a producer
 * writes its bytes, then publishes head; a consumer reads head, then the
 * bytes, then publishes tail. In exit mode the MMIO access is itself
 * serializing.
 *
 * Also includable from C++ (the host's tests use the constants).
 */
#ifndef GUEST_LIB_SIMVIRTIO_H
#define GUEST_LIB_SIMVIRTIO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the config space (offsets from the device's MMIO base) ---- */
#define SIMVIRTIO_REG_MAGIC 0x00         /* u32 R: SIMVIRTIO_MAGIC */
#define SIMVIRTIO_REG_MAX_QUEUE_LEN 0x04 /* u16 R */
#define SIMVIRTIO_REG_DEVICE_STATUS 0x06 /* u8 R: SIMVIRTIO_DEVICE_* */
#define SIMVIRTIO_REG_DRIVER_STATUS 0x07 /* u8 R/W: SIMVIRTIO_DRIVER_* */
#define SIMVIRTIO_REG_QUEUE_SEL 0x08     /* u8 R/W: 0 = TX, 1 = RX */
#define SIMVIRTIO_REG_Q0_CTL 0x09        /* u8 R/W: bit 0 = ENABLE */
#define SIMVIRTIO_REG_Q1_CTL 0x0a        /* u8 R/W: bit 0 = ENABLE */
#define SIMVIRTIO_REG_NOTIFY_MODE 0x0b   /* u8 R: SIMVIRTIO_NOTIFY_* */
#define SIMVIRTIO_REG_ERROR 0x0c         /* u8 R: SIMVIRTIO_ERR_* */
#define SIMVIRTIO_REG_VERSION 0x0d       /* u8 R: protocol major << 4 | minor (1.1: 0x11; 1.0 read 0) */
#define SIMVIRTIO_REG_QUEUE_ADDR 0x10    /* u64 R/W: selected queue's buffer */
#define SIMVIRTIO_REG_QUEUE_LEN 0x18     /* u32 R/W: selected queue's length */
#define SIMVIRTIO_REG_QUEUE_CB 0x20      /* u64 R/W: selected queue's control block (poll, doorbell) */
#define SIMVIRTIO_REG_DEVICE_TABLE 0x28  /* u64 R (R/W when the machine sets none): the device table */
#define SIMVIRTIO_REG_RX_MSG_END 0x30    /* u32 R: RX index just past the last complete message */
#define SIMVIRTIO_REG_RX_MSG_COUNT 0x34  /* u32 R: complete messages put on RX since the last reset */
#define SIMVIRTIO_REG_Q0_HEAD 0x40       /* u32 R/W (exit mode) */
#define SIMVIRTIO_REG_Q0_TAIL 0x44       /* u32 R (exit mode) */
#define SIMVIRTIO_REG_Q1_HEAD 0x48       /* u32 R (exit mode) */
#define SIMVIRTIO_REG_Q1_TAIL 0x4c       /* u32 R/W (exit mode) */
#define SIMVIRTIO_REG_TX_NOTIFY 0x40     /* u32 W (doorbell mode): TX head published in RAM */
#define SIMVIRTIO_REG_RX_NOTIFY 0x4c     /* u32 W (doorbell mode): RX tail published in RAM */
#define SIMVIRTIO_REGION_SIZE 0x100

#define SIMVIRTIO_MAGIC 0x74726976u /* "virt" */
#define SIMVIRTIO_VERSION 0x11      /* protocol 1.1 */
/* Where the device is when the machine file does not move it (1.1). */
#define SIMVIRTIO_DEFAULT_BASE 0xd0000000u
/* DEVICE_TABLE before the driver wrote it, when the machine sets none. */
#define SIMVIRTIO_TABLE_UNSET (~(uint64_t)0)

#define SIMVIRTIO_DEVICE_RESET 0x00
#define SIMVIRTIO_DEVICE_CONFIG 0x02
#define SIMVIRTIO_DEVICE_READY 0x04
#define SIMVIRTIO_DEVICE_ERROR 0x80

#define SIMVIRTIO_DRIVER_ACK 0x00
#define SIMVIRTIO_DRIVER 0x02
#define SIMVIRTIO_DRIVER_OK 0x04
/* The assignment's DRIVER_RESET is 0x8000, which does not fit the u8
 * register: here it is bit 7 of the driver status register. A 16-bit
 * write of 0x8000 at DRIVER_STATUS (what the assignment implies) is also
 * taken as a reset request (1.1). */
#define SIMVIRTIO_DRIVER_RESET 0x80
#define SIMVIRTIO_ASSIGNMENT_DRIVER_RESET 0x8000

#define SIMVIRTIO_QUEUE_ENABLE 0x01
#define SIMVIRTIO_QUEUE_TX 0
#define SIMVIRTIO_QUEUE_RX 1

#define SIMVIRTIO_NOTIFY_EXIT 0
#define SIMVIRTIO_NOTIFY_POLL 1
#define SIMVIRTIO_NOTIFY_DOORBELL 2

#define SIMVIRTIO_ERR_NONE 0
#define SIMVIRTIO_ERR_OUT_OF_ORDER 1
#define SIMVIRTIO_ERR_BAD_SELECTOR 2
#define SIMVIRTIO_ERR_BAD_LENGTH 3
#define SIMVIRTIO_ERR_BAD_ADDRESS 4
#define SIMVIRTIO_ERR_BAD_INDEX 5
#define SIMVIRTIO_ERR_TABLE 6
#define SIMVIRTIO_ERR_BAD_DRIVER_STATUS 7

#define SIMVIRTIO_CMD_RESET 'R'
#define SIMVIRTIO_CMD_CONFIG 'C'

/* ---- the assignment's structures ---- */
typedef uint8_t q_elem_t;

/* A queue's control block: head = producer index, tail = consumer index. */
typedef struct queue_control {
    uint32_t head;
    uint32_t tail;
} queue_control_t;

typedef struct simqueue {
    volatile queue_control_t *q_ctrl; /* MMIO registers (exit) or RAM (poll, doorbell) */
    uint32_t maxlen;                  /* the queue's length: maxlen - 1 bytes fit */
    q_elem_t *buffer;
    /* (ours) doorbell mode: the register to write after publishing this
     * side's index (TX_NOTIFY for TX, RX_NOTIFY for RX); NULL otherwise. */
    volatile uint32_t *doorbell;
} simqueue_t;

#define SIMVIRTIO_MAX_DEVICES 10
/* The x86-64 layout of the assignment's device_table_t (count at +0, the
 * addresses at +8), on i386 too. */
typedef struct device_table {
    uint16_t count;
    uint64_t device_addresses[SIMVIRTIO_MAX_DEVICES] __attribute__((aligned(8)));
} device_table_t;

#ifndef __cplusplus
_Static_assert(offsetof(device_table_t, device_addresses) == 8, "device_table_t layout");
_Static_assert(sizeof(queue_control_t) == 8, "queue_control_t layout");
#endif

/* One device, as the driver sees it. Lives in guest RAM (the poll-mode
 * control blocks are inside it). */
typedef struct simvirtio {
    uintptr_t base;         /* MMIO base */
    uint8_t notify_mode;    /* SIMVIRTIO_NOTIFY_*, read by simvirtio_init */
    uint16_t max_queue_len;
    simqueue_t tx;          /* queue 0: driver -> device */
    simqueue_t rx;          /* queue 1: device -> driver */
    queue_control_t ctrl[2] __attribute__((aligned(8))); /* poll mode: TX, RX */
} simvirtio_t;

/* ---- register access: one MMIO access each ---- */
static inline uint8_t simvirtio_read8(const simvirtio_t *dev, unsigned offset)
{
    return *(volatile uint8_t *)(dev->base + offset);
}
static inline uint16_t simvirtio_read16(const simvirtio_t *dev, unsigned offset)
{
    return *(volatile uint16_t *)(dev->base + offset);
}
static inline uint32_t simvirtio_read32(const simvirtio_t *dev, unsigned offset)
{
    return *(volatile uint32_t *)(dev->base + offset);
}
static inline uint64_t simvirtio_read64(const simvirtio_t *dev, unsigned offset)
{
    return *(volatile uint64_t *)(dev->base + offset);
}
static inline void simvirtio_write8(const simvirtio_t *dev, unsigned offset, uint8_t value)
{
    *(volatile uint8_t *)(dev->base + offset) = value;
}
static inline void simvirtio_write32(const simvirtio_t *dev, unsigned offset, uint32_t value)
{
    *(volatile uint32_t *)(dev->base + offset) = value;
}
static inline void simvirtio_write64(const simvirtio_t *dev, unsigned offset, uint64_t value)
{
    *(volatile uint64_t *)(dev->base + offset) = value;
}

static inline uint8_t simvirtio_device_status(const simvirtio_t *dev)
{
    return simvirtio_read8(dev, SIMVIRTIO_REG_DEVICE_STATUS);
}
static inline uint8_t simvirtio_error(const simvirtio_t *dev)
{
    return simvirtio_read8(dev, SIMVIRTIO_REG_ERROR);
}
static inline void simvirtio_set_driver_status(const simvirtio_t *dev, uint8_t status)
{
    simvirtio_write8(dev, SIMVIRTIO_REG_DRIVER_STATUS, status);
}

/* ---- the rings ---- */

/* Push one byte: 0, or -1 when the ring is full (or its indices are bad). */
int circ_bbuf_push(simqueue_t *q, q_elem_t data);
/* Pop one byte: 0, or -1 when the ring is empty (or its indices are bad). */
int circ_bbuf_pop(simqueue_t *q, q_elem_t *data);
/* Copy as many of `n` bytes as fit, then publish head once. Returns how
 * many were queued. */
size_t simqueue_push_bulk(simqueue_t *q, const q_elem_t *data, size_t n);
/* Copy up to `n` available bytes, then publish tail once. Returns how many. */
size_t simqueue_pop_bulk(simqueue_t *q, q_elem_t *data, size_t n);

/* ---- the device ---- */

/* Check the magic, read the max queue length and notify mode, configure
 * and enable TX (queue 0) and RX (queue 1) on the caller's buffers (each
 * length is clipped to the device's maximum). 0 on success; -1 if no
 * SIMVIRTIO device answers at `base`; -2 if the device refused a queue
 * (it is then in DEVICE_ERROR: see simvirtio_error). */
int simvirtio_init(simvirtio_t *dev, uintptr_t base, q_elem_t *tx_buffer, uint32_t tx_len, q_elem_t *rx_buffer,
                   uint32_t rx_len);
/* (Re)configure and enable one queue: disable it, select it, write buffer,
 * length and (poll mode) the control block's address, enable it. Returns
 * the device's error code afterwards (0 = accepted). */
int simvirtio_setup_queue(simvirtio_t *dev, int queue, q_elem_t *buffer, uint32_t len);
/* Push one command byte on TX and wait until the device consumed it (its
 * status then reflects the command). 0, or -1 as simvirtio_flush, or if TX
 * is full. */
int simvirtio_command(simvirtio_t *dev, q_elem_t command);
/* The handshake: 'R' -> DEVICE_RESET, DRIVER_ACK, 'C' -> DEVICE_CONFIG,
 * DRIVER_OK -> DEVICE_READY. 0, or the step that failed (1, 2, 3). */
int simvirtio_handshake(simvirtio_t *dev);
/* Reset request: bit 7 of the driver status. The device is then in
 * DEVICE_RESET, waiting for 'R'. */
void simvirtio_reset(simvirtio_t *dev);
/* Queue all `n` bytes on TX (each push as large as the ring allows, one
 * head update each), waiting for room as needed. Returns `n`, or how many
 * were queued before it gave up on a device in DEVICE_ERROR that stopped
 * taking bytes (no progress for ~2^25 TSC cycles). */
size_t simvirtio_write(simvirtio_t *dev, const void *data, size_t n);
/* Wait until the device consumed everything on TX (tail == head): after
 * this a guest may halt without losing output. 0, or -1 if the indices are
 * out of range or the device is in DEVICE_ERROR and stopped consuming (the
 * status is read only after ~2^25 TSC cycles without progress, so waiting
 * costs no VM exits in poll mode). */
int simvirtio_flush(simvirtio_t *dev);
/* Up to `n` bytes from RX, without waiting. Returns how many. */
size_t simvirtio_read(simvirtio_t *dev, void *data, size_t n);
/* One byte from RX, waiting up to about `tsc_cycles` TSC cycles for it.
 * 0, or -1 on timeout. */
int simvirtio_read_byte_wait(simvirtio_t *dev, q_elem_t *byte, uint64_t tsc_cycles);
/* (1.1) The device table's address as the device reports it, or
 * SIMVIRTIO_TABLE_UNSET when the machine sets none and the driver has not
 * written one yet (a 1.0 device reads 0 here: check SIMVIRTIO_REG_VERSION). */
static inline uint64_t simvirtio_table_address(const simvirtio_t *dev)
{
    return simvirtio_read64(dev, SIMVIRTIO_REG_DEVICE_TABLE);
}
/* (1.1) Give the device the table when the machine sets none: 0, or -1 if
 * the machine set another one (the register is then read-only). */
int simvirtio_use_device_table(simvirtio_t *dev, volatile device_table_t *table);
/* (1.1) 1 when RX holds nothing and the last message the device sent
 * ended where the driver's tail is (RX_MSG_COUNT > `seen`, RX_MSG_END ==
 * tail): the message is complete. Costs two register reads. */
int simvirtio_rx_message_done(simvirtio_t *dev, uint32_t seen);
/* 1 if `address` is one of the table's first `count` (at most 10) entries. */
int simvirtio_table_contains(const volatile device_table_t *table, uint64_t address);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GUEST_LIB_SIMVIRTIO_H */
