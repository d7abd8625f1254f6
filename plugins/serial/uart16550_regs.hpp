// The 16550A's registers and bits, as the TI PC16550D datasheet (SLLS057)
// names them in table 2 and sections 8.1-8.8.
#pragma once

#include <cstddef>
#include <cstdint>

namespace uart {

namespace reg {
constexpr uint64_t kData = 0;   // RBR (read) / THR (write); DLL when DLAB
constexpr uint64_t kIer = 1;    // interrupt enable; DLM when DLAB
constexpr uint64_t kIirFcr = 2; // IIR (read) / FCR (write)
constexpr uint64_t kLcr = 3;    // line control; bit 7 = DLAB
constexpr uint64_t kMcr = 4;    // modem control
constexpr uint64_t kLsr = 5;    // line status
constexpr uint64_t kMsr = 6;    // modem status
constexpr uint64_t kScratch = 7;
constexpr uint64_t kCount = 8;
} // namespace reg

constexpr std::size_t kFifoSize = 16;

// IER
constexpr uint8_t kIerRxData = 0x01;   // ERBFI: received data available (and timeout)
constexpr uint8_t kIerThre = 0x02;     // ETBEI: transmitter holding register empty
constexpr uint8_t kIerLineStatus = 0x04; // ELSI: receiver line status
constexpr uint8_t kIerModem = 0x08;    // EDSSI: modem status
constexpr uint8_t kIerMask = 0x0f;

// IIR: bit 0 clear = an interrupt is pending; bits 1-3 its source.
constexpr uint8_t kIirNone = 0x01;
constexpr uint8_t kIirModem = 0x00;
constexpr uint8_t kIirThre = 0x02;
constexpr uint8_t kIirRxData = 0x04;
constexpr uint8_t kIirLineStatus = 0x06;
constexpr uint8_t kIirTimeout = 0x0c;
constexpr uint8_t kIirFifoEnabled = 0xc0;

// FCR
constexpr uint8_t kFcrEnable = 0x01;
constexpr uint8_t kFcrClearRx = 0x02;
constexpr uint8_t kFcrClearTx = 0x04;
constexpr uint8_t kFcrTriggerMask = 0xc0; // 1, 4, 8 or 14 bytes

// LCR
constexpr uint8_t kLcrWordLength = 0x03; // 5 + n data bits
constexpr uint8_t kLcrStopBits = 0x04;
constexpr uint8_t kLcrParity = 0x08;
constexpr uint8_t kLcrBreak = 0x40;
constexpr uint8_t kLcrDlab = 0x80;

// MCR
constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08; // on a PC, enables the IRQ output buffer
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kMcrMask = 0x1f;

// LSR
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrOverrun = 0x02;
constexpr uint8_t kLsrParity = 0x04;
constexpr uint8_t kLsrFraming = 0x08;
constexpr uint8_t kLsrBreak = 0x10;
constexpr uint8_t kLsrErrors = kLsrOverrun | kLsrParity | kLsrFraming | kLsrBreak; // cleared by reading LSR
constexpr uint8_t kLsrThre = 0x20; // THR (FIFO mode: the transmit FIFO) empty
constexpr uint8_t kLsrTemt = 0x40; // THR and the shift register empty
constexpr uint8_t kLsrFifoError = 0x80;

// MSR: deltas in the low nibble (cleared by reading MSR), lines above.
constexpr uint8_t kMsrDeltaCts = 0x01;
constexpr uint8_t kMsrDeltaDsr = 0x02;
constexpr uint8_t kMsrTrailingRi = 0x04;
constexpr uint8_t kMsrDeltaDcd = 0x08;
constexpr uint8_t kMsrDeltas = 0x0f;
constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRi = 0x40;
constexpr uint8_t kMsrDcd = 0x80;
// Outside loopback, the other end is always there: CTS, DSR and DCD.
constexpr uint8_t kMsrConnected = kMsrCts | kMsrDsr | kMsrDcd;

// The clock behind the divisor: 1.8432 MHz / 16 = 115200 baud at divisor 1.
constexpr uint64_t kBaseBaud = 115200;

} // namespace uart
