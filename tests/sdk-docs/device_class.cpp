// Class members of a device that declares its own data members.
#include <vmm/sdk/output.hpp>
#include <vmm/sdk/plugin.hpp>

#include <cstdint>
#include <span>

class MyDev : public vmm::sdk::Device {
public:
    // EXAMPLE
};
