#include "core/machine_facts_builder.hpp"

#include <algorithm>
#include <filesystem>
#include <limits>

namespace vmm {
namespace {

// The kernel as loaded: from its lowest byte to its highest, segments in
// place and the gaps (bss, holes between segments) as zeros.
void add_kernel(MachineFacts &facts, const LoadedImage &image)
{
    uint64_t low = std::numeric_limits<uint64_t>::max(), high = 0;
    for (const ImageChunk &chunk : image.chunks) {
        low = std::min(low, chunk.address);
        high = std::max(high, chunk.end());
    }
    if (high <= low)
        return;
    MachineBlob blob;
    blob.size = high - low;
    for (const ImageChunk &chunk : image.chunks) {
        if (!chunk.bytes.empty())
            blob.pieces.push_back({chunk.address - low, chunk.bytes});
    }
    std::sort(blob.pieces.begin(), blob.pieces.end(),
              [](const MachineBlob::Piece &a, const MachineBlob::Piece &b) { return a.offset < b.offset; });
    facts.info.kernel_address = low;
    facts.info.kernel_entry = image.entry.value_or(0);
    facts.info.kernel_size = blob.size;
    facts.blobs["kernel"] = std::move(blob);
}

// The first module, where the boot layout placed it.
void add_initrd(MachineFacts &facts, const LoadedImage &image, const BootLayout &boot)
{
    const LoadedModule &module = image.modules.front();
    const std::string what = "module " + module.spec->file_as_written;
    for (const ImageChunk &chunk : boot.ram_chunks) {
        if (chunk.what == what && chunk.bytes.size() == module.bytes.size()) {
            facts.info.initrd_address = chunk.address;
            break;
        }
    }
    MachineBlob blob;
    blob.size = module.bytes.size();
    if (!module.bytes.empty())
        blob.pieces.push_back({0, module.bytes});
    facts.info.initrd_size = blob.size;
    facts.blobs["initrd"] = std::move(blob);
}

} // namespace

MachineFacts collect_machine_facts(const MachinePlan &plan)
{
    const MachineSpec &spec = *plan.spec;
    MachineFacts facts;
    facts.info.vcpu_count = spec.vcpus;
    facts.info.max_vcpus = spec.vcpus;
    facts.info.ram_size = spec.memory_size;
    facts.info.flags = (spec.irqchip ? VMM_MACHINE_IRQCHIP : 0u) | (spec.pit ? VMM_MACHINE_PIT : 0u);
    const auto kernel = std::find_if(plan.images.begin(), plan.images.end(),
                                     [](const LoadedImage &image) { return image.type == ImageType::ram; });
    if (kernel != plan.images.end())
        add_kernel(facts, *kernel);
    const auto with_modules = std::find_if(plan.images.begin(), plan.images.end(),
                                           [](const LoadedImage &image) { return !image.modules.empty(); });
    if (with_modules != plan.images.end())
        add_initrd(facts, *with_modules, plan.boot);
    if (!plan.images.empty() && !plan.images.front().spec->cmdline.empty()) {
        facts.blobs["cmdline"] = MachineBlob::text(plan.images.front().spec->cmdline + '\0');
        facts.info.cmdline_size = facts.blobs["cmdline"].size;
    }
    std::error_code ignored;
    const std::filesystem::path file = std::filesystem::absolute(spec.file, ignored);
    facts.blobs["machine_file"] = MachineBlob::text(file.string());
    return facts;
}

} // namespace vmm
