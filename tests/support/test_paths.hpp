// Where the build put what the tests use (set by tests/CMakeLists.txt).
#pragma once

#include <string>

namespace vmm::test::paths {

std::string vmm_binary();
std::string source_dir();      // the repository
std::string machines_dir();    // tests/machines
std::string fixture_dir();     // fixture plugins and files
std::string plugin_dir();      // the bundled plugins
std::string guest_dir();       // the built guests
std::string configs_dir();     // configs/ (bundled machines)
std::string build_dir();       // the CMake build tree under test
std::string cmake();           // the cmake that configured it
std::string c_compiler();
std::string cxx_compiler();

} // namespace vmm::test::paths
