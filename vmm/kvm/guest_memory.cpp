#include "kvm/guest_memory.hpp"

#include "kvm/vm.hpp"
#include "support/errors.hpp"
#include "support/ranges.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace vmm {
namespace {
constexpr uint64_t kPageSize = 4096;
}

GuestMemory::~GuestMemory()
{
    for (const auto &region : regions_) {
        ::munmap(region->host, region->size);
        ::close(region->fd);
    }
}

MemoryRegion &GuestMemory::add(std::string name, uint64_t guest_address, uint64_t size, bool read_only)
{
    if (size == 0 || guest_address % kPageSize != 0 || size % kPageSize != 0)
        throw SystemError(fmt::format("memory region '{}' at {:#x} size {:#x} is not page-aligned", name,
                                      guest_address, size));
    if (size - 1 > ~uint64_t{0} - guest_address)
        throw SystemError(fmt::format("memory region '{}' wraps around the address space", name));
    for (const auto &other : regions_) {
        if (guest_address < other->end() && other->guest_address < guest_address + size)
            throw SystemError(fmt::format("memory region '{}' overlaps '{}'", name, other->name));
    }
    // A memfd, so that an isolated device's process can map the same pages
    // (docs/isolation.md); sparse: a big, mostly untouched guest costs only
    // what it uses.
    const int fd = ::memfd_create("vmm-guest-memory", MFD_CLOEXEC);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
        const int error = errno;
        if (fd >= 0)
            ::close(fd);
        throw SystemError(errno_message(fmt::format("allocating {:#x} bytes for '{}'", size, name), error));
    }
    void *host = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (host == MAP_FAILED) {
        const int error = errno;
        ::close(fd);
        throw SystemError(errno_message(fmt::format("allocating {:#x} bytes for '{}'", size, name), error));
    }
    auto region = std::make_unique<MemoryRegion>();
    region->name = std::move(name);
    region->guest_address = guest_address;
    region->size = size;
    region->read_only = read_only;
    region->host = static_cast<uint8_t *>(host);
    region->fd = fd;
    regions_.push_back(std::move(region));
    return *regions_.back();
}

MemoryRegion &GuestMemory::add_ram(std::string name, uint64_t guest_address, uint64_t size)
{
    return add(std::move(name), guest_address, size, false);
}

MemoryRegion &GuestMemory::add_rom(std::string name, uint64_t guest_address, uint64_t size,
                                   std::span<const uint8_t> contents)
{
    if (contents.size() > size)
        throw SystemError(fmt::format("ROM '{}' contents ({} bytes) exceed its size ({})", name, contents.size(), size));
    MemoryRegion &region = add(std::move(name), guest_address, size, true);
    if (!contents.empty())
        std::memcpy(region.host, contents.data(), contents.size());
    return region;
}

uint64_t GuestMemory::ram_size() const
{
    uint64_t total = 0;
    for (const auto &region : regions_)
        total += region->read_only ? 0 : region->size;
    return total;
}

const MemoryRegion *GuestMemory::find(uint64_t address, uint64_t size) const
{
    for (const auto &region : regions_) {
        if (lies_within(address, size, region->guest_address, region->size))
            return region.get();
    }
    return nullptr;
}

uint8_t *GuestMemory::host_pointer(uint64_t address, uint64_t size, bool allow_rom) const
{
    const MemoryRegion *region = find(address, size);
    if (region == nullptr || (region->read_only && !allow_rom))
        return nullptr;
    return region->host + (address - region->guest_address);
}

bool GuestMemory::read(uint64_t address, void *buffer, uint64_t size) const
{
    const uint8_t *source = host_pointer(address, size, true);
    if (source == nullptr)
        return false;
    if (size != 0) // memcpy with a null buffer is undefined even for 0 bytes
        std::memcpy(buffer, source, size);
    return true;
}

bool GuestMemory::write(uint64_t address, const void *buffer, uint64_t size)
{
    uint8_t *target = host_pointer(address, size, false);
    if (target == nullptr)
        return false;
    if (size != 0)
        std::memcpy(target, buffer, size);
    return true;
}

bool GuestMemory::load(uint64_t address, std::span<const uint8_t> bytes)
{
    uint8_t *target = host_pointer(address, bytes.size(), true);
    if (target == nullptr)
        return false;
    if (!bytes.empty())
        std::memcpy(target, bytes.data(), bytes.size());
    return true;
}

void GuestMemory::register_with(Vm &vm) const
{
    uint32_t slot = 0;
    for (const auto &region : regions_)
        vm.set_memory_region(slot++, region->guest_address, region->size, region->host, region->read_only);
}

} // namespace vmm
