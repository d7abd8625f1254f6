// main() for tests that need KVM.
//
// Where /dev/kvm does not exist, the tests are reported as skipped (exit
// 77, CTest's SKIP_RETURN_CODE), never as passed. Where it exists but does
// not work (no permission, no VMX, a broken nested setup), they fail loudly
// with the reason: a broken KVM must not hide behind a skip.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace {

constexpr int kSkip = 77;

// Empty when KVM can create a VM, else why not.
std::string kvm_problem()
{
    const int kvm = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        return std::string("cannot open /dev/kvm: ") + std::strerror(errno);
    std::string problem;
    const int version = ::ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        problem = "KVM_GET_API_VERSION returned " + std::to_string(version);
    } else {
        const int vm = ::ioctl(kvm, KVM_CREATE_VM, 0UL);
        if (vm < 0)
            problem = std::string("KVM_CREATE_VM failed: ") + std::strerror(errno);
        else
            ::close(vm);
    }
    ::close(kvm);
    return problem;
}

} // namespace

int main(int argc, char **argv)
{
    Catch::Session session;
    if (const int rc = session.applyCommandLine(argc, argv); rc != 0)
        return rc;
    const auto &config = session.configData();
    const bool listing = config.listTests || config.listTestNamesOnly || config.listTags || config.listReporters;
    if (!listing) {
        struct stat st {};
        if (::stat("/dev/kvm", &st) != 0) {
            std::fprintf(stderr, "SKIPPED: /dev/kvm does not exist on this machine\n");
            return kSkip;
        }
        if (const std::string problem = kvm_problem(); !problem.empty()) {
            std::fprintf(stderr, "FAILED: /dev/kvm exists but KVM does not work: %s\n", problem.c_str());
            return 1;
        }
    }
    return session.run();
}
