#include "test_paths.hpp"

namespace vmm::test::paths {

std::string vmm_binary() { return VMM_TEST_VMM_BINARY; }
std::string source_dir() { return VMM_TEST_SOURCE_DIR; }
std::string machines_dir() { return VMM_TEST_SOURCE_DIR "/tests/machines"; }
std::string fixture_dir() { return VMM_TEST_FIXTURE_DIR; }
std::string plugin_dir() { return VMM_TEST_PLUGIN_DIR; }
std::string guest_dir() { return VMM_TEST_GUEST_DIR; }
std::string configs_dir() { return VMM_TEST_SOURCE_DIR "/configs"; }
std::string build_dir() { return VMM_TEST_BUILD_DIR; }
std::string cmake() { return VMM_TEST_CMAKE; }
std::string c_compiler() { return VMM_TEST_C_COMPILER; }
std::string cxx_compiler() { return VMM_TEST_CXX_COMPILER; }

} // namespace vmm::test::paths
