// Statements inside a device's member function (host() is in scope), with
// a guest-physical address and two values to print.
#include <vmm/sdk/plugin.hpp>

#include <array>
#include <cstdint>

class MyDev : public vmm::sdk::Device {
public:
    void example(uint64_t gpa, unsigned count, unsigned value)
    {
        // EXAMPLE
    }
};
