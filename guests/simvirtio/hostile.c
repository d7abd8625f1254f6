/*
 * simvirtio-hostile: feeds the SIMVIRTIO device bad values and out-of-order
 * steps, one at a time, and checks after each that the device answers as
 * plugins/simvirtio/README.md specifies: the device status, the error code
 * and, where it matters, what the registers and guest RAM hold afterwards.
 * Between steps it resets the device (bit 7 of the driver status) and sets
 * the queues up again.
 *
 * It reports through debug-exit (port 0xf4): 0 when every step behaved as
 * specified, else the number of the first step that did not (and a line on
 * the debug console saying what was expected). Before reporting success it
 * completes a normal handshake and sends one line on TX (starting with 'R':
 * in DEVICE_READY an 'R' is data, not a reset), so stdout shows that the
 * device still works after all this.
 *
 * Runs in both notify modes (simvirtio-hostile.toml, -hostile-poll.toml);
 * steps that only make sense in one mode say so. Its machines set
 * max_queue_length = 1024 and greeting = "hi\n".
 */
#include <stdint.h>

#include "console.h"
#include "format.h"
#include "io.h"
#include "layout.h"
#include "simvirtio.h"

#define BASE SIMVIRTIO_GUEST_MMIO_BASE
#define QLEN 64
#define MACHINE_MAX_QUEUE_LEN 1024 /* max_queue_length in the hostile machines */
#define OTHER_DEVICE(i) (0xe0000000ull + 0x1000ull * (i))
/* Poll mode: how many status reads (each a VM exit, ~10 us) to wait for the
 * device thread to notice a bad index in guest RAM. */
#define WAIT_READS 300000

static simvirtio_t dev;
/* The poll-mode control blocks, through volatile: the device reads and
 * writes them behind the compiler's back. */
#define CTRL(i) ((volatile queue_control_t *)&dev.ctrl[(i)])
static q_elem_t tx_buffer[QLEN];
static q_elem_t rx_buffer[QLEN];

static const char *step_name;
static int step_number;

/* The control blocks are in RAM: poll mode, and doorbell mode (1.1). */
static int poll_mode(void)
{
    return dev.notify_mode != SIMVIRTIO_NOTIFY_EXIT;
}

/* Doorbell mode: what the driver does after writing an index to RAM (a
 * 4-byte write KVM absorbs; the device looks on its event loop). */
static void ring(void)
{
    if (dev.notify_mode == SIMVIRTIO_NOTIFY_DOORBELL) {
        simvirtio_write32(&dev, SIMVIRTIO_REG_TX_NOTIFY, 0);
        simvirtio_write32(&dev, SIMVIRTIO_REG_RX_NOTIFY, 0);
    }
}

static void put_number(const char *label, uint64_t value)
{
    char text[FMT_BUFFER_SIZE];
    debugcon_puts(label);
    fmt_hex(text, value, 1);
    debugcon_puts(text);
}

static int complain(const char *what, uint64_t got, uint64_t want)
{
    char text[FMT_BUFFER_SIZE];
    debugcon_puts("simvirtio-hostile: step ");
    fmt_dec(text, (uint64_t)step_number);
    debugcon_puts(text);
    debugcon_puts(" (");
    debugcon_puts(step_name);
    debugcon_puts("): ");
    debugcon_puts(what);
    put_number(" is ", got);
    put_number(", expected ", want);
    put_number(" [device status ", simvirtio_device_status(&dev));
    put_number(", error ", simvirtio_error(&dev));
    debugcon_puts("]\n");
    return 0;
}

/* Each returns 1 when the value is as expected, else explains and returns 0. */
static int same(const char *what, uint64_t got, uint64_t want)
{
    return got == want ? 1 : complain(what, got, want);
}

static int expect(uint8_t status, uint8_t error)
{
    return same("device status", simvirtio_device_status(&dev), status) &&
           same("error code", simvirtio_error(&dev), error);
}

/* Poll mode: the device thread notices bad indices in RAM on its own. */
static int wait_for(uint8_t status, uint8_t error)
{
    for (int i = 0; i < WAIT_READS; ++i) {
        if (simvirtio_device_status(&dev) == status)
            break;
    }
    return expect(status, error);
}

static void clear_table(void)
{
    simvirtio_device_table.count = 0;
    for (int i = 0; i < SIMVIRTIO_MAX_DEVICES; ++i)
        simvirtio_device_table.device_addresses[i] = 0;
}

/* The starting point of most steps: reset, both queues set up and enabled,
 * an empty device table. */
static int fresh(void)
{
    simvirtio_reset(&dev);
    clear_table();
    return same("TX setup error", (uint64_t)simvirtio_setup_queue(&dev, SIMVIRTIO_QUEUE_TX, tx_buffer, QLEN), 0) &&
           same("RX setup error", (uint64_t)simvirtio_setup_queue(&dev, SIMVIRTIO_QUEUE_RX, rx_buffer, QLEN), 0) &&
           expect(SIMVIRTIO_DEVICE_RESET, SIMVIRTIO_ERR_NONE) &&
           same("driver status", simvirtio_read8(&dev, SIMVIRTIO_REG_DRIVER_STATUS), SIMVIRTIO_DRIVER_ACK);
}

static int command(q_elem_t byte)
{
    return same("TX consumed", (uint64_t)simvirtio_command(&dev, byte), 0);
}

/* fresh(), then 'R' and DRIVER_ACK: ready for 'C'. */
static int after_reset(void)
{
    return fresh() && command('R') && expect(SIMVIRTIO_DEVICE_RESET, SIMVIRTIO_ERR_NONE);
}

static int to_config(void)
{
    simvirtio_set_driver_status(&dev, SIMVIRTIO_DRIVER_ACK);
    return command('C') && expect(SIMVIRTIO_DEVICE_CONFIG, SIMVIRTIO_ERR_NONE);
}

static int to_ready(void)
{
    return after_reset() && to_config() && (simvirtio_set_driver_status(&dev, SIMVIRTIO_DRIVER_OK), 1) &&
           expect(SIMVIRTIO_DEVICE_READY, SIMVIRTIO_ERR_NONE);
}

/* Configure one (disabled) queue's registers by hand and try to enable it. */
static void try_queue(int queue, uint64_t address, uint32_t len, uint64_t control_block)
{
    const unsigned ctl = queue == 0 ? SIMVIRTIO_REG_Q0_CTL : SIMVIRTIO_REG_Q1_CTL;
    simvirtio_write8(&dev, ctl, 0);
    simvirtio_write8(&dev, SIMVIRTIO_REG_QUEUE_SEL, (uint8_t)queue);
    simvirtio_write64(&dev, SIMVIRTIO_REG_QUEUE_ADDR, address);
    simvirtio_write32(&dev, SIMVIRTIO_REG_QUEUE_LEN, len);
    simvirtio_write64(&dev, SIMVIRTIO_REG_QUEUE_CB, control_block);
    simvirtio_write8(&dev, ctl, SIMVIRTIO_QUEUE_ENABLE);
}

static int refused_queue(uint64_t address, uint32_t len, uint64_t control_block, uint8_t error)
{
    if (!fresh())
        return 0;
    try_queue(0, address, len, control_block);
    return expect(SIMVIRTIO_DEVICE_ERROR, error) && same("Q0 control", simvirtio_read8(&dev, SIMVIRTIO_REG_Q0_CTL), 0);
}

/* ---- the steps ---- */

static int power_on_state(void)
{
    const uint64_t wide = simvirtio_read64(&dev, SIMVIRTIO_REG_MAGIC);
    return same("magic", simvirtio_read32(&dev, SIMVIRTIO_REG_MAGIC), SIMVIRTIO_MAGIC) &&
           same("low half of an 8-byte read at 0", wide & 0xffffffffu, SIMVIRTIO_MAGIC) &&
           same("max queue length in an 8-byte read at 0", (wide >> 32) & 0xffff, MACHINE_MAX_QUEUE_LEN) &&
           same("max queue length", simvirtio_read16(&dev, SIMVIRTIO_REG_MAX_QUEUE_LEN), MACHINE_MAX_QUEUE_LEN) &&
           same("notify mode is 0, 1 or 2", simvirtio_read8(&dev, SIMVIRTIO_REG_NOTIFY_MODE) <= 2, 1) &&
           same("protocol version", simvirtio_read8(&dev, SIMVIRTIO_REG_VERSION), SIMVIRTIO_VERSION) &&
           same("device table register", simvirtio_table_address(&dev), SIMVIRTIO_GUEST_DEVICE_TABLE) &&
           same("RX_MSG_END", simvirtio_read32(&dev, SIMVIRTIO_REG_RX_MSG_END), 0) &&
           same("RX_MSG_COUNT", simvirtio_read32(&dev, SIMVIRTIO_REG_RX_MSG_COUNT), 0) &&
           expect(SIMVIRTIO_DEVICE_RESET, SIMVIRTIO_ERR_NONE) &&
           same("driver status", simvirtio_read8(&dev, SIMVIRTIO_REG_DRIVER_STATUS), 0) &&
           same("queue selector", simvirtio_read8(&dev, SIMVIRTIO_REG_QUEUE_SEL), 0) &&
           same("Q0 control", simvirtio_read8(&dev, SIMVIRTIO_REG_Q0_CTL), 0) &&
           same("Q1 control", simvirtio_read8(&dev, SIMVIRTIO_REG_Q1_CTL), 0) &&
           same("reserved 0x0e", simvirtio_read8(&dev, 0x0e), 0) &&
           same("reserved 0x38", simvirtio_read64(&dev, 0x38), 0) &&
           same("reserved 0x50", simvirtio_read32(&dev, 0x50), 0) &&
           same("beyond the registers, 0x800", simvirtio_read64(&dev, 0x800), 0);
}

static int narrow_writes(void)
{
    /* Queue 0 is still disabled: its configuration may be written. */
    simvirtio_write8(&dev, SIMVIRTIO_REG_QUEUE_SEL, 0);
    const uint64_t address = 0x1122334455667788ull;
    for (unsigned i = 0; i < 8; ++i)
        simvirtio_write8(&dev, SIMVIRTIO_REG_QUEUE_ADDR + i, (uint8_t)(address >> (8 * i)));
    *(volatile uint16_t *)(BASE + SIMVIRTIO_REG_QUEUE_LEN) = 0xbeef;
    *(volatile uint16_t *)(BASE + SIMVIRTIO_REG_QUEUE_LEN + 2) = 0xdead;
    simvirtio_write32(&dev, SIMVIRTIO_REG_QUEUE_CB + 4, 0xcafe);
    return same("queue address from 8 byte writes", simvirtio_read64(&dev, SIMVIRTIO_REG_QUEUE_ADDR), address) &&
           same("byte 3 of the queue address", simvirtio_read8(&dev, SIMVIRTIO_REG_QUEUE_ADDR + 3), 0x55) &&
           same("queue length from 2 u16 writes", simvirtio_read32(&dev, SIMVIRTIO_REG_QUEUE_LEN), 0xdeadbeef) &&
           same("control-block address high half", simvirtio_read64(&dev, SIMVIRTIO_REG_QUEUE_CB) >> 32, 0xcafe) &&
           expect(SIMVIRTIO_DEVICE_RESET, SIMVIRTIO_ERR_NONE);
}

static int enable_zeroes_indices(void)
{
    /* First move every index away from 0, in both modes: the handshake
     * pushes two commands on TX ('R', 'C'), DRIVER_OK puts the greeting
     * ("hi\n") on RX, and the driver takes one byte of it. Then disable both
     * queues: the indices keep their values (registers in exit mode, the
     * control blocks in poll mode) until the next enable. */
    q_elem_t byte = 0;
    if (!to_ready() ||
        !same("greeting byte arrived", (uint64_t)simvirtio_read_byte_wait(&dev, &byte, 1ull << 31), 0))
        return 0;
    simvirtio_write8(&dev, SIMVIRTIO_REG_Q0_CTL, 0);
    simvirtio_write8(&dev, SIMVIRTIO_REG_Q1_CTL, 0);
    if (poll_mode()) /* and a TX head and tail that differ */
        CTRL(0)->tail = 9;
    if (!same("TX head before enabling", dev.tx.q_ctrl->head, 2) ||
        !same("TX tail before enabling", dev.tx.q_ctrl->tail, poll_mode() ? 9 : 2) ||
        !same("RX head before enabling", dev.rx.q_ctrl->head, 3) ||
        !same("RX tail before enabling", dev.rx.q_ctrl->tail, 1))
        return 0;
    /* A reset request (queues disabled: it leaves them alone), then TX and
     * RX set up and enabled again. */
    if (!fresh())
        return 0;
    return same("Q0 control", simvirtio_read8(&dev, SIMVIRTIO_REG_Q0_CTL), 1) &&
           same("Q1 control", simvirtio_read8(&dev, SIMVIRTIO_REG_Q1_CTL), 1) &&
           same("TX head", dev.tx.q_ctrl->head, 0) && same("TX tail", dev.tx.q_ctrl->tail, 0) &&
           same("RX head", dev.rx.q_ctrl->head, 0) && same("RX tail", dev.rx.q_ctrl->tail, 0);
}

static int c_before_r(void)
{
    return fresh() && command('C') && expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER);
}

static int first_error_sticks(void)
{
    /* Still in the error of the previous step. */
    simvirtio_write8(&dev, SIMVIRTIO_REG_QUEUE_SEL, 5);
    if (!expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER))
        return 0;
    simvirtio_set_driver_status(&dev, SIMVIRTIO_DRIVER_OK);
    if (!expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER))
        return 0;
    return command('C') && expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER);
}

static int r_recovers(void)
{
    return command('R') && expect(SIMVIRTIO_DEVICE_RESET, SIMVIRTIO_ERR_NONE) && to_config();
}

static int unknown_command(void)
{
    return fresh() && command('x') && expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER);
}

static int driver_ok_first(void)
{
    if (!fresh())
        return 0;
    simvirtio_set_driver_status(&dev, SIMVIRTIO_DRIVER_OK);
    return expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER);
}

static int driver_ok_before_config(void)
{
    if (!after_reset())
        return 0;
    simvirtio_set_driver_status(&dev, SIMVIRTIO_DRIVER_OK);
    return expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER);
}

/* 1.1: DRIVER (0x02) is allowed before DRIVER_OK, 'C' included. */
static int c_after_driver(void)
{
    if (!after_reset())
        return 0;
    simvirtio_set_driver_status(&dev, SIMVIRTIO_DRIVER);
    return command('C') && expect(SIMVIRTIO_DEVICE_CONFIG, SIMVIRTIO_ERR_NONE);
}

/* 1.1: the assignment's DRIVER_RESET written as it says, a u16 0x8000 at
 * DRIVER_STATUS (its high byte lands on QUEUE_SEL), is a reset request. */
static int assignment_driver_reset(void)
{
    if (!to_ready())
        return 0;
    const uint8_t selector = simvirtio_read8(&dev, SIMVIRTIO_REG_QUEUE_SEL);
    *(volatile uint16_t *)(BASE + SIMVIRTIO_REG_DRIVER_STATUS) = SIMVIRTIO_ASSIGNMENT_DRIVER_RESET;
    return expect(SIMVIRTIO_DEVICE_RESET, SIMVIRTIO_ERR_NONE) &&
           same("driver status", simvirtio_read8(&dev, SIMVIRTIO_REG_DRIVER_STATUS), 0) &&
           same("queue selector", simvirtio_read8(&dev, SIMVIRTIO_REG_QUEUE_SEL), selector) &&
           command('C') && expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER);
}

static int c_twice(void)
{
    return after_reset() && to_config() && command('C') && expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER);
}

static int data_before_driver_ok(void)
{
    return after_reset() && to_config() && command('A') &&
           expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER);
}

static int driver_status_3(void)
{
    if (!fresh())
        return 0;
    simvirtio_set_driver_status(&dev, 3);
    return expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_BAD_DRIVER_STATUS) &&
           same("driver status", simvirtio_read8(&dev, SIMVIRTIO_REG_DRIVER_STATUS), 0);
}

static int driver_status_7f(void)
{
    if (!fresh())
        return 0;
    simvirtio_set_driver_status(&dev, 0x7f);
    return expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_BAD_DRIVER_STATUS);
}

static int bad_selector(void)
{
    if (!fresh())
        return 0;
    const uint8_t before = simvirtio_read8(&dev, SIMVIRTIO_REG_QUEUE_SEL);
    simvirtio_write8(&dev, SIMVIRTIO_REG_QUEUE_SEL, 2);
    return expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_BAD_SELECTOR) &&
           same("queue selector", simvirtio_read8(&dev, SIMVIRTIO_REG_QUEUE_SEL), before);
}

static int length_0(void)
{
    return refused_queue((uintptr_t)tx_buffer, 0, (uintptr_t)&dev.ctrl[0], SIMVIRTIO_ERR_BAD_LENGTH);
}

static int length_1(void)
{
    return refused_queue((uintptr_t)tx_buffer, 1, (uintptr_t)&dev.ctrl[0], SIMVIRTIO_ERR_BAD_LENGTH);
}

static int length_too_big(void)
{
    return refused_queue((uintptr_t)tx_buffer, MACHINE_MAX_QUEUE_LEN + 1, (uintptr_t)&dev.ctrl[0],
                         SIMVIRTIO_ERR_BAD_LENGTH);
}

static int length_huge(void)
{
    return refused_queue((uintptr_t)tx_buffer, 0xffffffffu, (uintptr_t)&dev.ctrl[0], SIMVIRTIO_ERR_BAD_LENGTH);
}

static int buffer_past_ram(void)
{
    return refused_queue(SIMVIRTIO_GUEST_RAM_SIZE - 16, QLEN, (uintptr_t)&dev.ctrl[0], SIMVIRTIO_ERR_BAD_ADDRESS);
}

static int buffer_on_mmio(void)
{
    return refused_queue(BASE, QLEN, (uintptr_t)&dev.ctrl[0], SIMVIRTIO_ERR_BAD_ADDRESS);
}

static int buffer_wraps(void)
{
    return refused_queue(0xffffffffffffffc0ull, QLEN, (uintptr_t)&dev.ctrl[0], SIMVIRTIO_ERR_BAD_ADDRESS);
}

static int control_block_past_ram(void)
{
    if (poll_mode())
        return refused_queue((uintptr_t)tx_buffer, QLEN, SIMVIRTIO_GUEST_RAM_SIZE - 4, SIMVIRTIO_ERR_BAD_ADDRESS);
    /* Exit mode: the control-block address is not used, hence not checked. */
    if (!fresh())
        return 0;
    try_queue(0, (uintptr_t)tx_buffer, QLEN, SIMVIRTIO_GUEST_RAM_SIZE - 4);
    return expect(SIMVIRTIO_DEVICE_RESET, SIMVIRTIO_ERR_NONE) &&
           same("Q0 control", simvirtio_read8(&dev, SIMVIRTIO_REG_Q0_CTL), 1);
}

static int control_block_misaligned(void)
{
    const uint64_t misaligned = (uintptr_t)&dev.ctrl[0] + 2;
    if (poll_mode())
        return refused_queue((uintptr_t)tx_buffer, QLEN, misaligned, SIMVIRTIO_ERR_BAD_ADDRESS);
    if (!fresh())
        return 0;
    try_queue(0, (uintptr_t)tx_buffer, QLEN, misaligned);
    return expect(SIMVIRTIO_DEVICE_RESET, SIMVIRTIO_ERR_NONE) &&
           same("Q0 control", simvirtio_read8(&dev, SIMVIRTIO_REG_Q0_CTL), 1);
}

static int reconfigure_enabled_queue(void)
{
    if (!fresh())
        return 0;
    simvirtio_write8(&dev, SIMVIRTIO_REG_QUEUE_SEL, 0);
    simvirtio_write32(&dev, SIMVIRTIO_REG_QUEUE_LEN, 32);
    return expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER) &&
           same("queue length", simvirtio_read32(&dev, SIMVIRTIO_REG_QUEUE_LEN), QLEN);
}

static int tx_head_out_of_range(void)
{
    if (!fresh())
        return 0;
    if (!poll_mode()) {
        simvirtio_write32(&dev, SIMVIRTIO_REG_Q0_HEAD, QLEN);
        return expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_BAD_INDEX) &&
               same("Q0 head register", simvirtio_read32(&dev, SIMVIRTIO_REG_Q0_HEAD), 0);
    }
    CTRL(0)->head = QLEN;
    ring();
    if (!wait_for(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_BAD_INDEX))
        return 0;
    /* A reset cannot keep an out-of-range head: both indices become 0. */
    simvirtio_reset(&dev);
    return expect(SIMVIRTIO_DEVICE_RESET, SIMVIRTIO_ERR_NONE) && same("TX head after reset", CTRL(0)->head, 0) &&
           same("TX tail after reset", CTRL(0)->tail, 0);
}

static int rx_tail_out_of_range(void)
{
    if (!fresh())
        return 0;
    if (!poll_mode()) {
        simvirtio_write32(&dev, SIMVIRTIO_REG_Q1_TAIL, 0xffffffffu);
        return expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_BAD_INDEX) &&
               same("Q1 tail register", simvirtio_read32(&dev, SIMVIRTIO_REG_Q1_TAIL), 0);
    }
    CTRL(1)->tail = QLEN + 5;
    ring();
    return wait_for(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_BAD_INDEX);
}

static int index_of_disabled_queue(void)
{
    if (!fresh())
        return 0;
    if (poll_mode()) {
        /* 0x40..0x4f are reserved in poll mode: writes are ignored. */
        simvirtio_write32(&dev, SIMVIRTIO_REG_Q0_HEAD, 5);
        return expect(SIMVIRTIO_DEVICE_RESET, SIMVIRTIO_ERR_NONE) &&
               same("0x40 in poll mode", simvirtio_read32(&dev, SIMVIRTIO_REG_Q0_HEAD), 0);
    }
    simvirtio_write8(&dev, SIMVIRTIO_REG_Q0_CTL, 0);
    simvirtio_write32(&dev, SIMVIRTIO_REG_Q0_HEAD, 1);
    return expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER);
}

static int table_with(uint16_t count, int others, int include_self)
{
    if (!after_reset())
        return 0;
    for (int i = 0; i < others; ++i)
        simvirtio_device_table.device_addresses[i] = OTHER_DEVICE(i);
    if (include_self)
        simvirtio_device_table.device_addresses[others] = BASE;
    simvirtio_device_table.count = count;
    simvirtio_set_driver_status(&dev, SIMVIRTIO_DRIVER_ACK);
    return command('C');
}

static int table_full(void)
{
    return table_with(10, 10, 0) && expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_TABLE) &&
           same("table count", simvirtio_device_table.count, 10);
}

static int table_count_11(void)
{
    return table_with(11, 10, 0) && expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_TABLE) &&
           same("table count", simvirtio_device_table.count, 11);
}

static int table_count_ffff(void)
{
    return table_with(0xffff, 0, 0) && expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_TABLE);
}

static int table_lists_device(void)
{
    return table_with(3, 2, 1) && expect(SIMVIRTIO_DEVICE_CONFIG, SIMVIRTIO_ERR_NONE) &&
           same("table count", simvirtio_device_table.count, 3);
}

static int table_last_slot(void)
{
    return table_with(9, 9, 0) && expect(SIMVIRTIO_DEVICE_CONFIG, SIMVIRTIO_ERR_NONE) &&
           same("table count", simvirtio_device_table.count, 10) &&
           same("entry 9", simvirtio_device_table.device_addresses[9], BASE) &&
           same("entry 8", simvirtio_device_table.device_addresses[8], OTHER_DEVICE(8));
}

static int ready_then_ack(void)
{
    if (!to_ready())
        return 0;
    simvirtio_set_driver_status(&dev, SIMVIRTIO_DRIVER_ACK);
    return expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER);
}

static int ready_reset_needs_r(void)
{
    if (!to_ready())
        return 0;
    simvirtio_reset(&dev);
    return expect(SIMVIRTIO_DEVICE_RESET, SIMVIRTIO_ERR_NONE) &&
           same("driver status after reset", simvirtio_read8(&dev, SIMVIRTIO_REG_DRIVER_STATUS), 0) &&
           command('C') && expect(SIMVIRTIO_DEVICE_ERROR, SIMVIRTIO_ERR_OUT_OF_ORDER);
}

static int read_only_registers(void)
{
    if (!fresh())
        return 0;
    simvirtio_write32(&dev, SIMVIRTIO_REG_MAGIC, 0);
    simvirtio_write8(&dev, SIMVIRTIO_REG_DEVICE_STATUS, SIMVIRTIO_DEVICE_READY);
    simvirtio_write8(&dev, SIMVIRTIO_REG_ERROR, 3);
    simvirtio_write8(&dev, SIMVIRTIO_REG_NOTIFY_MODE, 7);
    *(volatile uint16_t *)(BASE + SIMVIRTIO_REG_MAX_QUEUE_LEN) = 2;
    simvirtio_write8(&dev, SIMVIRTIO_REG_VERSION, 0x99);
    simvirtio_write64(&dev, SIMVIRTIO_REG_DEVICE_TABLE, 0x2000); /* the machine sets it: read-only */
    simvirtio_write32(&dev, SIMVIRTIO_REG_RX_MSG_COUNT, 7);
    return same("version", simvirtio_read8(&dev, SIMVIRTIO_REG_VERSION), SIMVIRTIO_VERSION) &&
           same("device table", simvirtio_table_address(&dev), SIMVIRTIO_GUEST_DEVICE_TABLE) &&
           same("RX_MSG_COUNT", simvirtio_read32(&dev, SIMVIRTIO_REG_RX_MSG_COUNT), 0) &&
           same("magic", simvirtio_read32(&dev, SIMVIRTIO_REG_MAGIC), SIMVIRTIO_MAGIC) &&
           same("max queue length", simvirtio_read16(&dev, SIMVIRTIO_REG_MAX_QUEUE_LEN), MACHINE_MAX_QUEUE_LEN) &&
           same("notify mode", simvirtio_read8(&dev, SIMVIRTIO_REG_NOTIFY_MODE), dev.notify_mode) &&
           expect(SIMVIRTIO_DEVICE_RESET, SIMVIRTIO_ERR_NONE);
}

static int reserved_offsets(void)
{
    if (!fresh())
        return 0;
    simvirtio_write8(&dev, 0x0e, 0xff);
    simvirtio_write32(&dev, 0x1c, 0xffffffffu);
    simvirtio_write64(&dev, 0x38, ~0ull);
    simvirtio_write64(&dev, 0x200, ~0ull);
    return expect(SIMVIRTIO_DEVICE_RESET, SIMVIRTIO_ERR_NONE) && same("0x0e", simvirtio_read8(&dev, 0x0e), 0) &&
           same("0x1c", simvirtio_read32(&dev, 0x1c), 0) && same("0x38", simvirtio_read64(&dev, 0x38), 0) &&
           same("0x200", simvirtio_read64(&dev, 0x200), 0);
}

static int greeting_on_rx(void)
{
    static const char greeting[] = "hi\n";
    if (!to_ready())
        return 0;
    for (unsigned i = 0; i < sizeof greeting - 1; ++i) {
        q_elem_t c = 0;
        if (!same("greeting byte arrived", (uint64_t)simvirtio_read_byte_wait(&dev, &c, 1ull << 31), 0) ||
            !same("greeting byte", c, (uint8_t)greeting[i]))
            return 0;
    }
    return same("RX empty after the greeting", dev.rx.q_ctrl->head, dev.rx.q_ctrl->tail) &&
           same("RX_MSG_COUNT after the greeting", simvirtio_read32(&dev, SIMVIRTIO_REG_RX_MSG_COUNT), 1) &&
           same("RX_MSG_END is the greeting's end", simvirtio_read32(&dev, SIMVIRTIO_REG_RX_MSG_END),
                dev.rx.q_ctrl->tail) &&
           same("the message is done", (uint64_t)simvirtio_rx_message_done(&dev, 0), 1);
}

static int rx_empty_before_ready(void)
{
    return after_reset() && to_config() && same("RX head before DRIVER_OK", dev.rx.q_ctrl->head, 0);
}

struct step {
    const char *name;
    int (*run)(void);
};

static const struct step steps[] = {
    {"power-on state and config space", power_on_state},
    {"narrow writes assemble wide registers", narrow_writes},
    {"enabling a queue zeroes its indices", enable_zeroes_indices},
    {"'C' before 'R'", c_before_r},
    {"the first error code sticks", first_error_sticks},
    {"'R' recovers from DEVICE_ERROR", r_recovers},
    {"unknown command byte", unknown_command},
    {"DRIVER_OK first", driver_ok_first},
    {"DRIVER_OK after 'R', before 'C'", driver_ok_before_config},
    {"'C' with driver status DRIVER (accepted, 1.1)", c_after_driver},
    {"the assignment's 16-bit DRIVER_RESET 0x8000 (1.1)", assignment_driver_reset},
    {"'C' twice", c_twice},
    {"data before DRIVER_OK", data_before_driver_ok},
    {"driver status 3", driver_status_3},
    {"driver status 0x7f", driver_status_7f},
    {"queue selector 2", bad_selector},
    {"queue length 0", length_0},
    {"queue length 1", length_1},
    {"queue length max + 1", length_too_big},
    {"queue length 0xffffffff", length_huge},
    {"buffer past the end of RAM", buffer_past_ram},
    {"buffer on the device's MMIO", buffer_on_mmio},
    {"buffer address wraps around", buffer_wraps},
    {"control block past the end of RAM", control_block_past_ram},
    {"control block misaligned", control_block_misaligned},
    {"queue reconfigured while enabled", reconfigure_enabled_queue},
    {"TX head >= length", tx_head_out_of_range},
    {"RX tail >= length", rx_tail_out_of_range},
    {"index of a disabled queue / reserved in poll mode", index_of_disabled_queue},
    {"device table full", table_full},
    {"device table count 11", table_count_11},
    {"device table count 0xffff", table_count_ffff},
    {"device table already lists the device", table_lists_device},
    {"device table's last slot", table_last_slot},
    {"DRIVER_ACK while READY", ready_then_ack},
    {"reset from READY needs 'R' again", ready_reset_needs_r},
    {"read-only registers", read_only_registers},
    {"reserved offsets", reserved_offsets},
    {"RX empty before DRIVER_OK", rx_empty_before_ready},
    {"greeting on RX", greeting_on_rx},
};

static void report(uint32_t verdict)
{
    outl(verdict, SIMVIRTIO_GUEST_DEBUG_EXIT_PORT);
}

int main(void)
{
    static const char done[] = "Recovered: the device survived every hostile step\n";
    /* Find the device only; the first step checks the power-on state. */
    dev.base = BASE;
    dev.max_queue_len = simvirtio_read16(&dev, SIMVIRTIO_REG_MAX_QUEUE_LEN);
    dev.notify_mode = simvirtio_read8(&dev, SIMVIRTIO_REG_NOTIFY_MODE);

    const int count = (int)(sizeof steps / sizeof steps[0]);
    for (int i = 0; i < count; ++i) {
        step_number = i + 1;
        step_name = steps[i].name;
        if (!steps[i].run()) {
            report((uint32_t)step_number);
            return step_number;
        }
    }

    step_number = count + 1;
    step_name = "a clean handshake and data at the end";
    if (!to_ready() || simvirtio_write(&dev, done, sizeof done - 1) != sizeof done - 1 ||
        !same("flush", (uint64_t)simvirtio_flush(&dev), 0) || !expect(SIMVIRTIO_DEVICE_READY, SIMVIRTIO_ERR_NONE)) {
        report((uint32_t)step_number);
        return step_number;
    }
    report(0);
    return 0;
}
