// The RTC's state blob, "mc146818" version 1: the index (with the NMI
// mask bit), registers A, B and C, the 128 bytes of CMOS (alarms, NVRAM,
// and the time registers as SET holds them), the guest's time offset from
// the host clock and the guest time the flags were last brought up to. A
// swap in the same process keeps the guest's clock and its pending flags.
#include "mc146818.hpp"

#include <vmm/sdk/state.hpp>

namespace rtc {

std::vector<uint8_t> Mc146818::save() const
{
    vmm::sdk::StateWriter w(kStateFormat, kStateVersion);
    w.u8(index_).u8(a_).u8(b_).u8(c_);
    w.bytes(cmos_);
    w.u64(static_cast<uint64_t>(offset_ns_)).u64(static_cast<uint64_t>(synced_ns_));
    return w.finish();
}

void Mc146818::load(std::span<const uint8_t> blob)
{
    vmm::sdk::StateReader r(blob, kStateFormat, kStateVersion);
    Mc146818 next(port_); // built aside: nothing changes unless the whole blob is good
    next.index_ = r.u8();
    next.a_ = r.u8() & static_cast<uint8_t>(~reg::kAUip);
    next.b_ = r.u8();
    next.c_ = r.u8() & (reg::kCIrqf | reg::kCPf | reg::kCAf | reg::kCUf);
    const std::vector<uint8_t> cmos = r.bytes();
    if (cmos.size() != kCmosSize)
        throw vmm::sdk::StateError("mc146818 state: " + std::to_string(cmos.size()) + " CMOS bytes, expected 128");
    std::copy(cmos.begin(), cmos.end(), next.cmos_.begin());
    next.offset_ns_ = static_cast<int64_t>(r.u64());
    next.synced_ns_ = static_cast<int64_t>(r.u64());
    r.finish();
    *this = std::move(next);
    resync(); // the line as the loaded IRQF says, the timer as the enables do
}

} // namespace rtc
