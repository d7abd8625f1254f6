// Compiled into a plugin that vmm_add_plugin links with libstdc++ static
// (STATIC_CXX_RUNTIME): such a plugin has a C++ runtime of its own, loaded
// and unloaded with it. libstdc++ mallocs an emergency pool for exceptions
// (~72 KiB) when it starts and frees it only through __gnu_cxx::__freeres,
// meant for this: without the call, every unload leaks the pool, and a
// machine that swaps between two plugins for hours would grow without end.
#include <cstddef> // with libstdc++, defines __GLIBCXX__

#if defined(__GLIBCXX__)
namespace __gnu_cxx {
void __freeres();
}

namespace {
__attribute__((destructor)) void vmm_free_private_cxx_runtime() { __gnu_cxx::__freeres(); }
} // namespace
#endif
