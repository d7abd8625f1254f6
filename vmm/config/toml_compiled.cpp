// TOML++'s implementation, built into vmm instead of linked as
// libtomlplusplus.so.
//
// Why: one shared library fewer at each start-up (docs/startup.md). TOML++
// is a header library that can compile its implementation in one
// translation unit of the program's choosing (TOML_IMPLEMENTATION): this
// one. Every other file sees declarations only (TOML_HEADER_ONLY=0, set on
// the config layer).
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
