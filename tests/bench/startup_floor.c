/* The floor under bench-startup's vmm figure: the fewest KVM calls that run
 * its ROM, in a static C program with no VMM around them. It opens
 * /dev/kvm, creates a VM with the same two memory slots vmm gives this
 * machine (64 KiB of RAM at 0, the 64 KiB ROM read-only below 4 GiB), asks
 * KVM_GET_SUPPORTED_CPUID and sets it on one vCPU, as any VMM must for a
 * guest that runs CPUID, and runs the vCPU from the reset vector: the byte
 * the ROM writes to port 0xE9 goes to stdout, the ROM's write to port 0xF4
 * is the exit status. No machine file, plugins, threads or tear-down beyond
 * exit(). What vmm adds on top of this is what vmm costs.
 *
 * Usage: bench-startup-floor ROM   (a 64 KiB image, as bench-startup writes) */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define ROM_SIZE 0x10000u
#define MAX_CPUID 256

static void die(const char *what)
{
    perror(what);
    exit(125);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s ROM\n", argv[0]);
        return 125;
    }
    const int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        die("/dev/kvm");
    const int vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
    if (vm < 0 || ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
        die("KVM_CREATE_VM");

    uint8_t *ram = mmap(NULL, ROM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *rom = mmap(NULL, ROM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const int image = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (ram == MAP_FAILED || rom == MAP_FAILED || image < 0 || read(image, rom, ROM_SIZE) != (ssize_t)ROM_SIZE)
        die(argv[1]);
    struct kvm_userspace_memory_region low = {.slot = 0,
                                              .guest_phys_addr = 0,
                                              .memory_size = ROM_SIZE,
                                              .userspace_addr = (uintptr_t)ram};
    struct kvm_userspace_memory_region high = {.slot = 1,
                                               .flags = KVM_MEM_READONLY,
                                               .guest_phys_addr = 0xffff0000u,
                                               .memory_size = ROM_SIZE,
                                               .userspace_addr = (uintptr_t)rom};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &low) < 0 || ioctl(vm, KVM_SET_USER_MEMORY_REGION, &high) < 0)
        die("KVM_SET_USER_MEMORY_REGION");

    static struct {
        struct kvm_cpuid2 header;
        struct kvm_cpuid_entry2 entries[MAX_CPUID];
    } cpuid = {.header.nent = MAX_CPUID};
    if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0)
        die("KVM_GET_SUPPORTED_CPUID");
    const int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
    const int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vcpu < 0 || run_size <= 0 || ioctl(vcpu, KVM_SET_CPUID2, &cpuid) < 0)
        die("KVM_CREATE_VCPU");
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        die("mmap kvm_run");

    for (;;) { /* KVM's reset state starts at the reset vector, 0xfffffff0 */
        if (ioctl(vcpu, KVM_RUN, 0) < 0)
            die("KVM_RUN");
        if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT) {
            fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
            return 125;
        }
        const uint8_t value = *((uint8_t *)run + run->io.data_offset);
        if (run->io.port == 0xe9 && write(1, &value, 1) != 1)
            die("stdout");
        if (run->io.port == 0xf4)
            return value;
    }
}
