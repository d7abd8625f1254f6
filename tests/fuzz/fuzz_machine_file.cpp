// libFuzzer target: the machine-file loader on arbitrary text. Anything it
// rejects must be an InputError(s) with a message; nothing may crash.
#include "config/machine_loader.hpp"
#include "support/errors.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    try {
        const vmm::MachineSpec spec = vmm::parse_machine(text, "fuzz.toml", {});
        // A spec that parsed is internally consistent.
        if (spec.vcpus == 0 || spec.vcpus > vmm::kMaxVcpus || spec.memory_size > vmm::kMaxMemorySize)
            std::abort();
    } catch (const vmm::InputErrors &e) {
        if (e.errors().empty())
            std::abort(); // an empty error list would print nothing
    } catch (const vmm::InputError &e) {
        if (std::string_view(e.what()).empty())
            std::abort();
    }
    return 0;
}
