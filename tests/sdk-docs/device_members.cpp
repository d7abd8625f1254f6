// Class members of a device (a constructor, plugin_info(), overrides):
// the fragment goes inside the class, whose data members it may use.
#include <vmm/sdk/plugin.hpp>
#include <vmm/sdk/runtime.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

class MyDev : public vmm::sdk::Device {
public:
    // EXAMPLE

private:
    void on_input(uint32_t) {}

    std::string path_;
    int64_t max_ = 0;
    int64_t queue_length_ = 0;
    std::string mode_;
    double rate_ = 1.0;
    std::vector<uint64_t> sizes_;
    uint8_t value_ = 0;
    uint64_t count_ = 0;
    std::vector<uint8_t> pending_;
    std::string name_;
    int fd_ = -1;
    uint64_t ticks_ = 0, rings_ = 0;
    vmm::sdk::InterruptLine line_;
    vmm::sdk::Timer tick_;
    vmm::sdk::FdWatch input_;
    vmm::sdk::Doorbell bell_;
};
