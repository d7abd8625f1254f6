#include "plugin/host_context.hpp"

#include <utility>

void vmm_host_context::start_capture()
{
    std::lock_guard lock(capture_mutex_);
    captured_errors_.clear();
    capturing_ = true;
}

std::string vmm_host_context::end_capture()
{
    std::lock_guard lock(capture_mutex_);
    capturing_ = false;
    return std::exchange(captured_errors_, {});
}

void vmm_host_context::capture(const char *message)
{
    if (!capturing_.load())
        return;
    std::lock_guard lock(capture_mutex_);
    if (!capturing_.load())
        return;
    if (!captured_errors_.empty())
        captured_errors_ += "; ";
    captured_errors_ += message;
}

bool vmm_host_context::usable(const char *service)
{
    return runtime == nullptr || runtime->phase() != vmm::DevicePhase::destroying || runtime->allowed(service);
}

namespace vmm {

void retire_host_context(std::unique_ptr<vmm_host_context> context)
{
    static std::mutex mutex;
    static std::vector<std::unique_ptr<vmm_host_context>> retired;
    std::lock_guard lock(mutex);
    retired.push_back(std::move(context));
}

} // namespace vmm
