# vmm_add_plugin(<name> SOURCES <file>... [OUTPUT_DIRECTORY <dir>]
#                [STATIC_CXX_RUNTIME])
#
# Builds the device plugin <name> as `vmm-<name>.so` with the flags the host
# expects: C++20, hidden visibility, only the two entry points exported (a
# linker version script), and no undefined symbols left for load time.
# The target is called `vmm-plugin-<name>`.
#
# STATIC_CXX_RUNTIME (or VMM_PLUGIN_STATIC_CXX_RUNTIME set ON before the
# call) links libstdc++ into the plugin: it then needs no libstdc++.so at
# load time, which saves the process loading one (~0.4 ms of every start
# on the test host; docs/startup.md), and runs on a host whose libstdc++ is
# older than the compiler's. Only C crosses the plugin ABI, so a private
# runtime is safe; the plugin frees that runtime's exception pool when it is
# unloaded (vmm_static_cxx_runtime.cpp), so a reload does not leak it.
# The unwinder, libgcc_s, stays shared: one process must have one.
#
# Included from the installed package (find_package(VmmSdk)) or from vmm's
# own build, vmm::sdk already exists. Included straight from a vmm source
# tree (include(/path/to/vmm/sdk/cmake/VmmPlugin.cmake)), it defines
# vmm::sdk itself: the headers next to this file.

set(_VMM_PLUGIN_MAP "${CMAKE_CURRENT_LIST_DIR}/vmm-plugin.map" CACHE INTERNAL "")
set(_VMM_PLUGIN_STATIC_RUNTIME_SOURCE "${CMAKE_CURRENT_LIST_DIR}/vmm_static_cxx_runtime.cpp" CACHE INTERNAL "")

if(NOT TARGET vmm::sdk)
  get_filename_component(_vmm_sdk_include "${CMAKE_CURRENT_LIST_DIR}/../include" ABSOLUTE)
  if(NOT EXISTS "${_vmm_sdk_include}/vmm/plugin_abi.h")
    message(FATAL_ERROR "VmmPlugin.cmake: no target vmm::sdk and no SDK headers at ${_vmm_sdk_include}; "
                        "use find_package(VmmSdk) with an installed SDK, or include this file from a vmm source tree")
  endif()
  add_library(vmm::sdk INTERFACE IMPORTED GLOBAL)
  set_target_properties(vmm::sdk PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_vmm_sdk_include}"
                                            INTERFACE_COMPILE_FEATURES cxx_std_20)
  unset(_vmm_sdk_include)
endif()

function(vmm_add_plugin name)
  cmake_parse_arguments(ARG "STATIC_CXX_RUNTIME" "OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "vmm_add_plugin(${name}): SOURCES is required")
  endif()
  set(target vmm-plugin-${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE vmm::sdk)
  target_compile_features(${target} PRIVATE cxx_std_20)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "vmm-${name}"
    SUFFIX ".so"
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE
    "LINKER:--version-script=${_VMM_PLUGIN_MAP}"
    "LINKER:--no-undefined")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${_VMM_PLUGIN_MAP}")
  if(ARG_STATIC_CXX_RUNTIME OR VMM_PLUGIN_STATIC_CXX_RUNTIME)
    target_sources(${target} PRIVATE "${_VMM_PLUGIN_STATIC_RUNTIME_SOURCE}")
    # Only the parts of libstdc++ the plugin uses: --gc-sections keeps what
    # the two entry points reach.
    target_link_options(${target} PRIVATE -static-libstdc++ "LINKER:--exclude-libs,ALL" "LINKER:--gc-sections")
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}")
  endif()
endfunction()
