/*
 * echo: an interrupt-driven line echo on COM1 (machine: configs/machines/echo.toml).
 *
 * The guest remaps the PIC to vectors 0x20-0x2f, programs the 16550 (8N1,
 * FIFO on, interrupts on received data and line status, OUT2 so the
 * interrupt reaches IRQ 4), prints "echo: ready\r\n" and sleeps in
 * `sti; hlt`. Everything else happens in the IRQ 4 handler: it reads
 * IIR/LSR/RBR until the UART has nothing more, collects a line and, at '\r'
 * or '\n', sends it back uppercased with "\r\n". The line "quit" prints
 * "echo: bye\r\n" and ends the VM through debug-exit with status 0.
 *
 * Typed characters are not echoed as they are typed, only the whole line
 * at Enter ('\r' from a raw terminal, '\n' from a pipe; "\r\n" counts as
 * one end of line). DEL and BS remove the last character. A line longer
 * than LINE_MAX keeps its first LINE_MAX characters.
 *
 * What it proves: a device's interrupt line reaches a guest through the
 * in-kernel PIC and the boot vCPU's LINT0 (ExtINT), and the UART's receive
 * path (FIFO, IIR, LSR.DR) and transmit back-pressure (LSR.THRE, polled)
 * behave as a driver written from the 16550 datasheet expects.
 */
#include <stdint.h>

#include "console.h"
#include "interrupts.h"
#include "io.h"

#define COM1_IRQ 4
#define DEBUG_EXIT_PORT 0xf4
#define LINE_MAX 128

/* 16550 registers (offsets from the base) and bits, beyond console.h's. */
#define UART_RBR 0      /* receive buffer (read) */
#define UART_DLL 0      /* divisor latch, low byte (DLAB = 1) */
#define UART_IER 1      /* interrupt enable */
#define UART_DLM 1      /* divisor latch, high byte (DLAB = 1) */
#define UART_IIR 2      /* interrupt identification (read) */
#define UART_FCR 2      /* FIFO control (write) */
#define UART_LCR 3
#define UART_MCR 4
#define UART_MSR 6
#define IER_RX_DATA 0x01
#define IER_LINE_STATUS 0x04
#define IIR_NONE_PENDING 0x01
#define IIR_ID_MASK 0x0e
#define IIR_MODEM_STATUS 0x00
#define IIR_THR_EMPTY 0x02
#define IIR_LINE_STATUS 0x06
#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define FCR_ENABLE 0x01  /* FIFOs on, receive trigger at 1 byte, nothing cleared */
#define MCR_DTR_RTS_OUT2 0x0b  /* OUT2 gates the UART's interrupt onto the ISA line */
#define LSR_DR 0x01
#define LSR_OE 0x02

static char line[LINE_MAX];
static unsigned line_length;
static int after_cr;  /* the last byte was '\r': a '\n' right after it ends nothing */

static void quit(void)
{
    uart_puts(UART_COM1, "echo: bye\r\n");
    outb(0, DEBUG_EXIT_PORT);
    for (;;)  /* the VMM stops this vCPU; nothing else to do meanwhile */
        __asm__ volatile("cli; hlt");
}

static void end_of_line(void)
{
    static const char quit_word[] = "quit";
    unsigned i = 0;
    while (i < line_length && i < sizeof quit_word - 1 && line[i] == quit_word[i])
        ++i;
    if (line_length == sizeof quit_word - 1 && i == line_length)
        quit();
    for (i = 0; i < line_length; ++i) {
        const char c = line[i];
        uart_putc(UART_COM1, c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c);
    }
    uart_puts(UART_COM1, "\r\n");
    line_length = 0;
}

static void received(char c)
{
    const int was_cr = after_cr;
    after_cr = c == '\r';
    if (c == '\n' && was_cr)
        return;
    if (c == '\r' || c == '\n')
        end_of_line();
    else if (c == 0x7f || c == 0x08)
        line_length -= line_length > 0;
    else if (line_length < LINE_MAX)
        line[line_length++] = c;
}

/* Read every byte the UART holds. LSR's error bits clear when read, so an
 * overrun is noticed here (a byte lost before the guest could take it). */
static void drain_receiver(void)
{
    for (;;) {
        const uint8_t lsr = inb(UART_COM1 + UART_LSR);
        if (lsr & LSR_OE)
            uart_puts(UART_COM1, "echo: receiver overrun, input lost\r\n");
        if ((lsr & LSR_DR) == 0)
            return;
        received((char)inb(UART_COM1 + UART_RBR));
    }
}

__attribute__((interrupt)) static void on_com1(struct interrupt_frame *frame)
{
    (void)frame;
    /* Until IIR says nothing is pending, so the UART drops its line and the
     * next byte makes a fresh edge for the (edge-triggered) PIC. Bounded,
     * in case a device never says so. */
    for (unsigned round = 0; round < 64; ++round) {
        const uint8_t iir = inb(UART_COM1 + UART_IIR);
        if (iir & IIR_NONE_PENDING)
            break;
        switch (iir & IIR_ID_MASK) {
        case IIR_MODEM_STATUS: (void)inb(UART_COM1 + UART_MSR); break;
        case IIR_THR_EMPTY: break;  /* reading IIR cleared it */
        default: drain_receiver(); break;  /* line status, data, character timeout */
        }
    }
    drain_receiver();
    pic_eoi(COM1_IRQ);
}

static void uart_init(void)
{
    outb(0, UART_COM1 + UART_IER);
    outb(LCR_DLAB, UART_COM1 + UART_LCR);
    outb(1, UART_COM1 + UART_DLL);  /* 115200 baud */
    outb(0, UART_COM1 + UART_DLM);
    outb(LCR_8N1, UART_COM1 + UART_LCR);
    /* Input that came before this (a pipe is read at once) stays for the
     * IRQ 4 handler: reading it here would answer it before the banner. */
    outb(FCR_ENABLE, UART_COM1 + UART_FCR);
    outb(MCR_DTR_RTS_OUT2, UART_COM1 + UART_MCR);
    (void)inb(UART_COM1 + UART_MSR);
    outb(IER_RX_DATA | IER_LINE_STATUS, UART_COM1 + UART_IER);
}

void main(void)
{
    interrupts_disable();
    idt_init();
    /* The PIC first: the UART may raise IRQ 4 as soon as IER is set. */
    pic_remap(PIC_VECTOR_BASE);
    idt_set_gate(PIC_VECTOR_BASE + COM1_IRQ, on_com1);
    uart_init();
    uart_puts(UART_COM1, "echo: ready\r\n");
    pic_set_mask((uint16_t)~(1u << COM1_IRQ));
    for (;;)
        wait_for_interrupt();
}
