// spdlog's compiled part, built into vmm instead of linked as libspdlog.so.
//
// Why: every shared library costs each start-up its mapping, its
// relocations and the pages fault-around brings in (docs/startup.md has the
// figures). Debian ships spdlog's implementation as headers (*-inl.h) besides
// the .so, so this one file compiles what vmm uses, as spdlog's own
// src/spdlog.cpp does (less the registry and the
// default logger, which vmm never uses: its loggers are made by
// support/logging.cpp); every other file sees the declarations only
// (SPDLOG_COMPILED_LIB, set on the support layer), so they compile no faster
// or slower than with the .so. A symbol missing here is a link error.
#ifndef SPDLOG_COMPILED_LIB
#error "SPDLOG_COMPILED_LIB must be defined (see vmm/CMakeLists.txt)"
#endif

#include <spdlog/common-inl.h>
#include <spdlog/details/backtracer-inl.h>
#include <spdlog/details/log_msg-inl.h>
#include <spdlog/details/log_msg_buffer-inl.h>
#include <spdlog/details/os-inl.h>
#include <spdlog/logger-inl.h>
#include <spdlog/pattern_formatter-inl.h>
#include <spdlog/sinks/base_sink-inl.h>
#include <spdlog/sinks/sink-inl.h>

#include <mutex>

template class spdlog::sinks::base_sink<std::mutex>;
