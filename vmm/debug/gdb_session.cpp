#include "debug/gdb_session.hpp"

#include "core/machine.hpp"
#include "debug/address_translation.hpp"
#include "debug/gdb_monitor.hpp"
#include "debug/gdb_packet.hpp"
#include "debug/gdb_registers.hpp"
#include "support/errors.hpp"
#include "support/logging.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>

namespace vmm::gdb {
namespace {

// Error numbers gdb shows as-is: E01 bad request, E02 no such thread or
// register, E03 cannot while running, E14 (EFAULT) unmapped memory, E16
// (EBUSY) no debug register free, E22 (EINVAL) a value KVM refused.
const std::string kBadRequest = "E01";
const std::string kNoSuch = "E02";
const std::string kRunning = "E03";
const std::string kFault = "E14";
const std::string kBusy = "E16";
const std::string kInvalid = "E22";

std::optional<RegisterFile> read_state(Vcpu &vcpu)
{
    RegisterFile file;
    try {
        file.regs = vcpu.regs();
        file.sregs = vcpu.sregs();
    } catch (const SystemError &) {
        return std::nullopt;
    }
    if (::ioctl(vcpu.fd(), KVM_GET_FPU, &file.fpu) < 0)
        return std::nullopt;
    return file;
}

bool write_state(Vcpu &vcpu, const RegisterFile &before, const RegisterFile &after)
{
    try {
        if (std::memcmp(&before.regs, &after.regs, sizeof after.regs) != 0)
            vcpu.set_regs(after.regs);
        if (std::memcmp(&before.sregs, &after.sregs, sizeof after.sregs) != 0)
            vcpu.set_sregs(after.sregs);
    } catch (const SystemError &) {
        return false;
    }
    if (std::memcmp(&before.fpu, &after.fpu, sizeof after.fpu) != 0)
        return ::ioctl(vcpu.fd(), KVM_SET_FPU, &after.fpu) == 0;
    return true;
}

TranslationState translation_state(const kvm_sregs &sregs)
{
    return TranslationState{sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer, sregs.cs.base};
}

const char *mp_state_name(uint32_t state)
{
    switch (state) {
    case KVM_MP_STATE_RUNNABLE: return "running";
    case KVM_MP_STATE_HALTED: return "halted";
    case KVM_MP_STATE_UNINITIALIZED:
    case KVM_MP_STATE_INIT_RECEIVED: return "waiting for SIPI";
    case KVM_MP_STATE_SIPI_RECEIVED: return "starting (SIPI received)";
    default: return "in another KVM state";
    }
}

} // namespace

uint32_t Session::general_vcpu() const
{
    if (auto v = vcpu_of(general_thread_, false))
        return *v;
    if (auto event = stop_.event(); event && !stop_.ended(event->vcpu))
        return event->vcpu;
    for (uint32_t v = 0; v < stop_.vcpu_count(); ++v) {
        if (!stop_.ended(v))
            return v;
    }
    return 0;
}

std::optional<uint32_t> Session::vcpu_of(int64_t thread, bool allow_any) const
{
    if (thread == kAllThreads || thread == kAnyThread)
        return allow_any ? std::optional<uint32_t>(general_vcpu()) : std::nullopt;
    if (thread < 1 || thread > static_cast<int64_t>(stop_.vcpu_count()))
        return std::nullopt;
    return static_cast<uint32_t>(thread - 1);
}

SessionReply Session::stop_reply()
{
    SessionReply reply;
    const std::optional<StopEvent> event = stop_.event();
    if (!event) {
        reply.payload = "S05";
        return reply;
    }
    std::string reason;
    int signal = 5; // SIGTRAP
    switch (event->kind) {
    case StopEvent::Kind::initial:
    case StopEvent::Kind::step: break;
    case StopEvent::Kind::interrupt: signal = 2; break; // SIGINT, as gdb expects after Ctrl-C
    case StopEvent::Kind::breakpoint: {
        const DebugSlot &slot = stop_.points().slot(event->slot);
        reason = slot.type == PointType::software ? "swbreak:;" : "hwbreak:;";
        break;
    }
    case StopEvent::Kind::watchpoint: {
        const DebugSlot &slot = stop_.points().slot(event->slot);
        const char *kind = slot.type == PointType::write ? "watch" : slot.type == PointType::read ? "rwatch" : "awatch";
        reason = fmt::format("{}:{:x};", kind, slot.address);
        break;
    }
    case StopEvent::Kind::exit_break: reply.console = event->detail + "\n"; break;
    }
    general_thread_ = event->vcpu + 1;
    reply.payload = fmt::format("T{:02x}thread:{:x};{}", signal, event->vcpu + 1, reason);
    return reply;
}

std::string Session::threads(bool first)
{
    if (!first)
        return "l";
    std::string out = "m";
    for (uint32_t v = 0; v < stop_.vcpu_count(); ++v) {
        if (stop_.ended(v))
            continue;
        out += fmt::format("{}{:x}", out.size() > 1 ? "," : "", v + 1);
    }
    return out.size() > 1 ? out : "l";
}

std::string Session::read_memory(uint64_t address, uint64_t length)
{
    // Shorter replies are allowed; the packet limit caps absurd lengths.
    length = std::min<uint64_t>(length, (kMaxPacket - 32) / 2);
    Vcpu &vcpu = machine_.vcpu(general_vcpu());
    kvm_sregs sregs{};
    try {
        sregs = vcpu.sregs();
    } catch (const SystemError &) {
        return kFault;
    }
    const GuestMemory &memory = machine_.memory();
    const PhysicalReader reader = [&memory](uint64_t pa, uint64_t &value, unsigned size) {
        value = 0;
        return memory.read(pa, &value, size); // RAM and ROM only: never a device
    };
    std::string out;
    uint64_t done = 0;
    while (done < length) {
        const auto t = translate(translation_state(sregs), address + done, reader);
        if (!t)
            break;
        const uint64_t chunk = std::min({length - done, t->bytes_left_in_page, uint64_t{4096}});
        std::vector<uint8_t> bytes(chunk);
        if (!memory.read(t->physical, bytes.data(), chunk))
            break;
        out += to_hex(bytes.data(), chunk);
        done += chunk;
    }
    return out.empty() && length > 0 ? kFault : out;
}

std::string Session::write_memory(uint64_t address, const std::vector<uint8_t> &data)
{
    Vcpu &vcpu = machine_.vcpu(general_vcpu());
    kvm_sregs sregs{};
    try {
        sregs = vcpu.sregs();
    } catch (const SystemError &) {
        return kFault;
    }
    GuestMemory &memory = machine_.memory();
    const PhysicalReader reader = [&memory](uint64_t pa, uint64_t &value, unsigned size) {
        value = 0;
        return memory.read(pa, &value, size);
    };
    // All or nothing: every byte's page is translated and found in RAM first.
    std::vector<std::pair<uint64_t, uint64_t>> pieces; // physical, size
    for (uint64_t done = 0; done < data.size();) {
        const auto t = translate(translation_state(sregs), address + done, reader);
        if (!t)
            return kFault;
        const uint64_t chunk = std::min<uint64_t>(data.size() - done, t->bytes_left_in_page);
        if (memory.host_pointer(t->physical, chunk) == nullptr)
            return kFault;
        pieces.emplace_back(t->physical, chunk);
        done += chunk;
    }
    uint64_t offset = 0;
    for (const auto &[physical, size] : pieces) {
        memory.write(physical, data.data() + offset, size);
        offset += size;
    }
    return "OK";
}

SessionReply Session::resume(const Request &request)
{
    std::vector<VcpuAction> actions(stop_.vcpu_count(), VcpuAction::stay);
    std::vector<bool> decided(actions.size(), false);
    std::vector<ResumeAction> list = request.actions;
    if (request.thread == kAnyThread && request.actions.size() == 1 && request.actions[0].thread == kAllThreads &&
        request.actions[0].kind == ResumeKind::step) {
        // Legacy `s`: the Hc thread (or the current one) steps, the others stay.
        const auto v = vcpu_of(continue_thread_, true);
        list = {ResumeAction{ResumeKind::step, static_cast<int64_t>(v.value_or(general_vcpu())) + 1}};
    }
    for (const ResumeAction &a : list) {
        if (a.thread != kAllThreads && a.thread != kAnyThread && !vcpu_of(a.thread, false))
            return SessionReply{kNoSuch};
        for (uint32_t v = 0; v < actions.size(); ++v) {
            const bool matches = a.thread == kAllThreads || a.thread == kAnyThread || a.thread == v + 1;
            if (!decided[v] && matches) {
                actions[v] = a.kind == ResumeKind::step ? VcpuAction::step : VcpuAction::cont;
                decided[v] = true;
            }
        }
    }
    if (request.resume_address) {
        Vcpu &vcpu = machine_.vcpu(general_vcpu());
        try {
            kvm_regs regs = vcpu.regs();
            regs.rip = *request.resume_address;
            vcpu.set_regs(regs);
        } catch (const SystemError &) {
            return SessionReply{kInvalid};
        }
    }
    stop_.set_watched(watched_bytes());
    stop_.resume(actions);
    SessionReply reply;
    reply.send = false;
    reply.resumed = true;
    return reply;
}

std::vector<WatchedBytes> Session::watched_bytes()
{
    std::vector<WatchedBytes> out;
    Vcpu &vcpu = machine_.vcpu(general_vcpu());
    kvm_sregs sregs{};
    try {
        sregs = vcpu.sregs();
    } catch (const SystemError &) {
        return out;
    }
    const GuestMemory &memory = machine_.memory();
    const PhysicalReader reader = [&memory](uint64_t pa, uint64_t &value, unsigned size) {
        value = 0;
        return memory.read(pa, &value, size);
    };
    for (std::size_t i = 0; i < DebugRegisters::kSlots; ++i) {
        const DebugSlot &slot = stop_.points().slot(i);
        if (!slot.used || (slot.type != PointType::write && slot.type != PointType::access))
            continue;
        const auto t = translate(translation_state(sregs), slot.address, reader);
        WatchedBytes w{i, 0, slot.length, 0};
        // Aligned to its size, so never across a page.
        if (!t || !memory.read(t->physical, &w.value, slot.length))
            continue;
        w.physical = t->physical;
        out.push_back(w);
    }
    return out;
}

void Session::choose_arch()
{
    constexpr uint64_t kEferLma = 1ull << 10;
    constexpr uint64_t kCr0Pe = 1;
    try {
        const kvm_sregs sregs = machine_.vcpu(0).sregs();
        arch_ = (sregs.efer & kEferLma) != 0 ? Arch::x86_64 : (sregs.cr0 & kCr0Pe) != 0 ? Arch::i386 : Arch::i8086;
    } catch (const SystemError &) {
        arch_ = Arch::x86_64;
    }
}

void Session::release()
{
    stop_.set_watched({});
    stop_.points().clear();
    stop_.set_exit_breaks(ExitBreaks{});
    stop_.resume(std::vector<VcpuAction>(stop_.vcpu_count(), VcpuAction::cont));
}

SessionReply Session::handle(const Request &r)
{
    using Kind = Request::Kind;
    SessionReply reply;
    // Everything but a few queries needs the VM stopped; a debugger
    // speaking out of turn while it runs gets an error, not a race.
    const bool needs_stop = r.kind != Kind::supported && r.kind != Kind::features && r.kind != Kind::no_ack &&
                            r.kind != Kind::unsupported && r.kind != Kind::malformed && r.kind != Kind::vcont_query &&
                            r.kind != Kind::kill && r.kind != Kind::attached;
    if (needs_stop && !stop_.stopped())
        return SessionReply{kRunning};
    switch (r.kind) {
    case Kind::unsupported: reply.payload = ""; break;
    case Kind::malformed: reply.payload = kBadRequest; break;
    case Kind::supported:
        reply.payload = fmt::format("PacketSize={:x};qXfer:features:read+;vContSupported+;swbreak+;hwbreak+;"
                                    "QStartNoAckMode+",
                                    kMaxPacket);
        break;
    case Kind::features: {
        if (r.text != "target.xml") {
            reply.payload = kNoSuch;
            break;
        }
        const std::string &xml = target_xml(arch_);
        if (r.address >= xml.size()) {
            reply.payload = "l";
            break;
        }
        const uint64_t length = std::min<uint64_t>({r.length, xml.size() - r.address, kMaxPacket - 32});
        reply.payload = (r.address + length >= xml.size() ? "l" : "m") + xml.substr(r.address, length);
        break;
    }
    case Kind::attached: reply.payload = "1"; break;
    case Kind::first_threads: reply.payload = threads(true); break;
    case Kind::next_threads: reply.payload = threads(false); break;
    case Kind::current_thread: reply.payload = fmt::format("QC{:x}", general_vcpu() + 1); break;
    case Kind::thread_extra: {
        const auto v = vcpu_of(r.thread, false);
        if (!v) {
            reply.payload = kNoSuch;
            break;
        }
        std::string text = fmt::format("vcpu {}: ", *v);
        kvm_mp_state mp{};
        if (stop_.ended(*v))
            text += "ended";
        else if (::ioctl(machine_.vcpu(*v).fd(), KVM_GET_MP_STATE, &mp) == 0)
            text += mp_state_name(mp.mp_state);
        else
            text += "state unknown";
        reply.payload = to_hex(text);
        break;
    }
    case Kind::monitor: {
        const std::string out = run_monitor_command(r.text, stop_, machine_);
        reply.payload = to_hex(out);
        break;
    }
    case Kind::no_ack:
        no_ack_ = true;
        reply.payload = "OK";
        break;
    case Kind::stop_reason: return stop_reply();
    case Kind::read_registers:
    case Kind::read_register: {
        const auto state = read_state(machine_.vcpu(general_vcpu()));
        if (!state) {
            reply.payload = kFault;
            break;
        }
        if (r.kind == Kind::read_registers) {
            const auto bytes = read_all(arch_, *state);
            reply.payload = to_hex(bytes.data(), bytes.size());
        } else {
            const auto bytes = read_register(arch_, *state, r.address);
            reply.payload = bytes ? to_hex(bytes->data(), bytes->size()) : kNoSuch;
        }
        break;
    }
    case Kind::write_registers:
    case Kind::write_register: {
        Vcpu &vcpu = machine_.vcpu(general_vcpu());
        const auto before = read_state(vcpu);
        if (!before) {
            reply.payload = kFault;
            break;
        }
        RegisterFile after = *before;
        const auto error = r.kind == Kind::write_registers ? write_all(arch_, after, r.data)
                                                            : write_register(arch_, after, r.address, r.data);
        if (error)
            reply.payload = r.kind == Kind::write_register && r.address >= register_count(arch_) ? kNoSuch : kInvalid;
        else
            reply.payload = write_state(vcpu, *before, after) ? "OK" : kInvalid;
        break;
    }
    case Kind::read_memory: reply.payload = read_memory(r.address, r.length); break;
    case Kind::write_memory: reply.payload = write_memory(r.address, r.data); break;
    case Kind::insert_point:
    case Kind::remove_point: {
        const auto type = static_cast<PointType>(r.point_type);
        if (r.kind == Kind::insert_point) {
            const auto error = stop_.points().insert(type, r.address, r.length);
            if (!error && type == PointType::software)
                logging::core().debug("gdb: software breakpoint at {:#x} set in a debug register (int3 breakpoints "
                                      "do not work on this host: docs/gdb-stub.md)",
                                      r.address);
            reply.payload = !error ? "OK" : type <= PointType::hardware || error->find("in use") != std::string::npos
                                                ? kBusy
                                                : kInvalid;
        } else {
            reply.payload = stop_.points().remove(type, r.address, r.length) ? "OK" : kNoSuch;
        }
        break;
    }
    case Kind::set_thread: {
        if (r.thread != kAllThreads && r.thread != kAnyThread && (!vcpu_of(r.thread, false) ||
                                                                  stop_.ended(*vcpu_of(r.thread, false)))) {
            reply.payload = kNoSuch;
            break;
        }
        (r.thread_op == 'g' ? general_thread_ : continue_thread_) = r.thread;
        reply.payload = "OK";
        break;
    }
    case Kind::thread_alive: {
        const auto v = vcpu_of(r.thread, false);
        reply.payload = v && !stop_.ended(*v) ? "OK" : kNoSuch;
        break;
    }
    case Kind::vcont_query: reply.payload = "vCont;c;C;s;S"; break;
    case Kind::resume: return resume(r);
    case Kind::detach:
        release();
        reply.payload = "OK";
        reply.close = true;
        break;
    case Kind::kill:
        machine_.control().request_stop(StopCause::control, kExitOk, "the debugger killed the VM");
        reply.payload = "OK";
        reply.send = false; // `k` has no reply
        reply.close = true;
        break;
    }
    return reply;
}

} // namespace vmm::gdb
