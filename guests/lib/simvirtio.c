/*
 * simvirtio.c - the SIMVIRTIO driver; see simvirtio.h and
 * plugins/simvirtio/README.md.
 */
#include "simvirtio.h"

/* Orders plain buffer accesses against the volatile index accesses. */
#define simvirtio_barrier() __asm__ volatile("" ::: "memory")

static inline void simvirtio_pause(void)
{
    __asm__ volatile("pause" ::: "memory");
}

/* Ring copies: a word per step (rep movsq; rep movsl on i386), then the
 * rest (rep movsb). Fewer steps than format.c's byte-wise memcpy, which
 * matters where each step of a string instruction is expensive (emulated
 * or nested guests). */
#ifdef __x86_64__
#define SIMVIRTIO_COPY_WORDS "rep movsq"
#else
#define SIMVIRTIO_COPY_WORDS "rep movsl"
#endif
static void simvirtio_copy(void *dest, const void *src, size_t n)
{
    size_t words = n / sizeof(size_t), bytes = n % sizeof(size_t);
    __asm__ volatile(SIMVIRTIO_COPY_WORDS : "+D"(dest), "+S"(src), "+c"(words) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(dest), "+S"(src), "+c"(bytes) : : "memory");
}

static inline uint64_t simvirtio_rdtsc(void)
{
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    return ((uint64_t)high << 32) | low;
}

int circ_bbuf_push(simqueue_t *q, q_elem_t data)
{
    const uint32_t head = q->q_ctrl->head;
    const uint32_t tail = q->q_ctrl->tail;
    if (head >= q->maxlen || tail >= q->maxlen)
        return -1;
    const uint32_t next = head + 1 == q->maxlen ? 0 : head + 1;
    if (next == tail)
        return -1; /* full */
    q->buffer[head] = data;
    simvirtio_barrier(); /* the byte before the head that publishes it */
    q->q_ctrl->head = next;
    if (q->doorbell)
        *q->doorbell = next;
    return 0;
}

int circ_bbuf_pop(simqueue_t *q, q_elem_t *data)
{
    const uint32_t head = q->q_ctrl->head;
    const uint32_t tail = q->q_ctrl->tail;
    if (head >= q->maxlen || tail >= q->maxlen || head == tail)
        return -1; /* bad indices, or empty */
    simvirtio_barrier(); /* the head before the byte it publishes */
    *data = q->buffer[tail];
    simvirtio_barrier(); /* the byte read before the tail frees its slot */
    const uint32_t next = tail + 1 == q->maxlen ? 0 : tail + 1;
    q->q_ctrl->tail = next;
    if (q->doorbell)
        *q->doorbell = next;
    return 0;
}

size_t simqueue_push_bulk(simqueue_t *q, const q_elem_t *data, size_t n)
{
    const uint32_t len = q->maxlen;
    const uint32_t head = q->q_ctrl->head;
    const uint32_t tail = q->q_ctrl->tail;
    if (head >= len || tail >= len)
        return 0;
    const uint32_t room = (tail + len - head - 1) % len;
    const uint32_t count = n < room ? (uint32_t)n : room;
    if (count == 0)
        return 0;
    const uint32_t first = count < len - head ? count : len - head;
    simvirtio_copy(q->buffer + head, data, first);
    simvirtio_copy(q->buffer, data + first, count - first);
    simvirtio_barrier();
    q->q_ctrl->head = (head + count) % len;
    if (q->doorbell)
        *q->doorbell = (head + count) % len;
    return count;
}

size_t simqueue_pop_bulk(simqueue_t *q, q_elem_t *data, size_t n)
{
    const uint32_t len = q->maxlen;
    const uint32_t head = q->q_ctrl->head;
    const uint32_t tail = q->q_ctrl->tail;
    if (head >= len || tail >= len)
        return 0;
    const uint32_t available = (head + len - tail) % len;
    const uint32_t count = n < available ? (uint32_t)n : available;
    if (count == 0)
        return 0;
    simvirtio_barrier();
    const uint32_t first = count < len - tail ? count : len - tail;
    simvirtio_copy(data, q->buffer + tail, first);
    simvirtio_copy(data + first, q->buffer, count - first);
    simvirtio_barrier();
    q->q_ctrl->tail = (tail + count) % len;
    if (q->doorbell)
        *q->doorbell = (tail + count) % len;
    return count;
}

int simvirtio_setup_queue(simvirtio_t *dev, int queue, q_elem_t *buffer, uint32_t len)
{
    const unsigned ctl = queue == SIMVIRTIO_QUEUE_TX ? SIMVIRTIO_REG_Q0_CTL : SIMVIRTIO_REG_Q1_CTL;
    simqueue_t *q = queue == SIMVIRTIO_QUEUE_TX ? &dev->tx : &dev->rx;

    if (len > dev->max_queue_len)
        len = dev->max_queue_len;
    simvirtio_write8(dev, ctl, 0);
    simvirtio_write8(dev, SIMVIRTIO_REG_QUEUE_SEL, (uint8_t)queue);
    simvirtio_write64(dev, SIMVIRTIO_REG_QUEUE_ADDR, (uintptr_t)buffer);
    simvirtio_write32(dev, SIMVIRTIO_REG_QUEUE_LEN, len);
    q->doorbell = 0;
    if (dev->notify_mode != SIMVIRTIO_NOTIFY_EXIT) {
        q->q_ctrl = &dev->ctrl[queue];
        simvirtio_write64(dev, SIMVIRTIO_REG_QUEUE_CB, (uintptr_t)&dev->ctrl[queue]);
        if (dev->notify_mode == SIMVIRTIO_NOTIFY_DOORBELL)
            q->doorbell = (volatile uint32_t *)(dev->base + (queue == SIMVIRTIO_QUEUE_TX ? SIMVIRTIO_REG_TX_NOTIFY
                                                                                          : SIMVIRTIO_REG_RX_NOTIFY));
    } else {
        q->q_ctrl = (volatile queue_control_t *)(dev->base + SIMVIRTIO_REG_Q0_HEAD + 8 * (unsigned)queue);
    }
    q->maxlen = len;
    q->buffer = buffer;
    /* Enabling sets both indices to 0 (in the control block, in poll mode). */
    simvirtio_write8(dev, ctl, SIMVIRTIO_QUEUE_ENABLE);
    return simvirtio_error(dev);
}

int simvirtio_init(simvirtio_t *dev, uintptr_t base, q_elem_t *tx_buffer, uint32_t tx_len, q_elem_t *rx_buffer,
                   uint32_t rx_len)
{
    dev->base = base;
    if (simvirtio_read32(dev, SIMVIRTIO_REG_MAGIC) != SIMVIRTIO_MAGIC)
        return -1;
    dev->max_queue_len = simvirtio_read16(dev, SIMVIRTIO_REG_MAX_QUEUE_LEN);
    dev->notify_mode = simvirtio_read8(dev, SIMVIRTIO_REG_NOTIFY_MODE);
    if (simvirtio_setup_queue(dev, SIMVIRTIO_QUEUE_TX, tx_buffer, tx_len) != 0 ||
        simvirtio_setup_queue(dev, SIMVIRTIO_QUEUE_RX, rx_buffer, rx_len) != 0)
        return -2;
    return 0;
}

/* Waiting on the device: after SIMVIRTIO_STALL_CYCLES TSC cycles (~13 ms)
 * without progress, and then as often, look at the device status (one
 * VM exit) to give up on a device in DEVICE_ERROR. Time-based, so that a
 * fast guest waiting in poll mode does not exit at every few spins. */
#define SIMVIRTIO_STALL_CYCLES (1ull << 25)

static int simvirtio_stalled_in_error(simvirtio_t *dev, uint64_t *deadline)
{
    const uint64_t now = simvirtio_rdtsc();
    if (now < *deadline)
        return 0;
    *deadline = now + SIMVIRTIO_STALL_CYCLES;
    return simvirtio_device_status(dev) == SIMVIRTIO_DEVICE_ERROR;
}

int simvirtio_flush(simvirtio_t *dev)
{
    volatile queue_control_t *c = dev->tx.q_ctrl;
    uint64_t deadline = simvirtio_rdtsc() + SIMVIRTIO_STALL_CYCLES;
    for (;;) {
        const uint32_t head = c->head;
        const uint32_t tail = c->tail;
        if (head >= dev->tx.maxlen || tail >= dev->tx.maxlen)
            return -1;
        if (head == tail)
            return 0;
        /* A device in DEVICE_ERROR still consumes TX unless its indices are
         * bad. It publishes a tail under the same lock as its status, so a
         * status read that sees the error also sees every tail before it. */
        if (simvirtio_stalled_in_error(dev, &deadline))
            return c->tail == c->head ? 0 : -1;
        simvirtio_pause();
    }
}

int simvirtio_command(simvirtio_t *dev, q_elem_t command)
{
    if (circ_bbuf_push(&dev->tx, command) != 0)
        return -1;
    return simvirtio_flush(dev);
}

int simvirtio_handshake(simvirtio_t *dev)
{
    if (simvirtio_command(dev, SIMVIRTIO_CMD_RESET) != 0 ||
        simvirtio_device_status(dev) != SIMVIRTIO_DEVICE_RESET)
        return 1;
    simvirtio_set_driver_status(dev, SIMVIRTIO_DRIVER_ACK);
    if (simvirtio_command(dev, SIMVIRTIO_CMD_CONFIG) != 0 ||
        simvirtio_device_status(dev) != SIMVIRTIO_DEVICE_CONFIG)
        return 2;
    simvirtio_set_driver_status(dev, SIMVIRTIO_DRIVER_OK);
    if (simvirtio_device_status(dev) != SIMVIRTIO_DEVICE_READY)
        return 3;
    return 0;
}

void simvirtio_reset(simvirtio_t *dev)
{
    simvirtio_set_driver_status(dev, SIMVIRTIO_DRIVER_RESET);
}

size_t simvirtio_write(simvirtio_t *dev, const void *data, size_t n)
{
    const q_elem_t *bytes = (const q_elem_t *)data;
    size_t done = 0;
    uint64_t deadline = simvirtio_rdtsc() + SIMVIRTIO_STALL_CYCLES;
    while (done < n) {
        const size_t queued = simqueue_push_bulk(&dev->tx, bytes + done, n - done);
        done += queued;
        if (queued != 0) {
            deadline = simvirtio_rdtsc() + SIMVIRTIO_STALL_CYCLES;
            continue;
        }
        if (simvirtio_stalled_in_error(dev, &deadline))
            break;
        simvirtio_pause();
    }
    return done;
}

size_t simvirtio_read(simvirtio_t *dev, void *data, size_t n)
{
    return simqueue_pop_bulk(&dev->rx, (q_elem_t *)data, n);
}

int simvirtio_read_byte_wait(simvirtio_t *dev, q_elem_t *byte, uint64_t tsc_cycles)
{
    const uint64_t start = simvirtio_rdtsc();
    for (;;) {
        if (circ_bbuf_pop(&dev->rx, byte) == 0)
            return 0;
        if (simvirtio_rdtsc() - start > tsc_cycles)
            return -1;
        simvirtio_pause();
    }
}

int simvirtio_table_contains(const volatile device_table_t *table, uint64_t address)
{
    uint16_t count = table->count;
    if (count > SIMVIRTIO_MAX_DEVICES)
        count = SIMVIRTIO_MAX_DEVICES;
    for (uint16_t i = 0; i < count; ++i) {
        if (table->device_addresses[i] == address)
            return 1;
    }
    return 0;
}

int simvirtio_use_device_table(simvirtio_t *dev, volatile device_table_t *table)
{
    const uint64_t address = (uintptr_t)table;
    const uint64_t current = simvirtio_table_address(dev);
    if (current == address)
        return 0;
    if (current != SIMVIRTIO_TABLE_UNSET)
        return -1;
    simvirtio_write64(dev, SIMVIRTIO_REG_DEVICE_TABLE, address);
    return simvirtio_table_address(dev) == address ? 0 : -1;
}

int simvirtio_rx_message_done(simvirtio_t *dev, uint32_t seen)
{
    const uint32_t tail = dev->rx.q_ctrl->tail;
    return simvirtio_read32(dev, SIMVIRTIO_REG_RX_MSG_COUNT) > seen &&
           simvirtio_read32(dev, SIMVIRTIO_REG_RX_MSG_END) == tail;
}
