#include "core/vcpu_runtime.hpp"

namespace vmm {
namespace {
thread_local VcpuRuntime *t_current = nullptr;
}

VcpuRuntime *current_vcpu_runtime() { return t_current; }
void set_current_vcpu_runtime(VcpuRuntime *runtime) { t_current = runtime; }

} // namespace vmm
