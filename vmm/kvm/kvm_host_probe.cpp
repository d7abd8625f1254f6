#include "kvm/kvm_host_probe.hpp"

#include <system_error>
#include <utility>

namespace vmm {

KvmHost KvmHost::open()
{
    KvmHost host;
    host.system = std::make_unique<KvmSystem>();
    host.vm = std::make_unique<Vm>(*host.system);
    host.supported_cpuid = host.system->supported_cpuid();
    return host;
}

KvmHostProbe::KvmHostProbe()
{
    try {
        thread_ = std::thread([this] {
            try {
                result_ = KvmHost::open();
            } catch (...) {
                error_ = std::current_exception();
            }
        });
    } catch (const std::system_error &) {
        taken_ = true; // no thread: take() does the work itself
    }
}

KvmHostProbe::~KvmHostProbe()
{
    if (thread_.joinable())
        thread_.join();
}

KvmHost KvmHostProbe::take()
{
    if (thread_.joinable())
        thread_.join();
    if (taken_)
        return KvmHost::open();
    taken_ = true;
    if (error_)
        std::rethrow_exception(std::exchange(error_, nullptr));
    return std::move(result_);
}

} // namespace vmm
