# Documentation, man pages, bash completion, and two Debian packages (CPack):
#   vmm      the binary, plugins, guests, machines, man pages, completion, docs
#   vmm-dev  the plugin SDK headers, the CMake package, pkg-config files, the
#            guest SDK and the example (install() calls in sdk/ go there)
# and a -dbgsym package of each with the debug information the packaged,
# stripped binaries leave out.
#   cmake --build build && (cd build && cpack -G DEB)
# Packages install under /usr (FHS); the binary finds its files relative to
# itself, so any prefix works.

set(VMM_DOC_DIR "${CMAKE_INSTALL_DATADIR}/doc/vmm")
install(FILES README.md DESTINATION ${VMM_DOC_DIR})
install(FILES dist/copyright DESTINATION ${VMM_DOC_DIR})
# Each plugin's README (what it implements and leaves out); SIMVIRTIO's is its
# specification, also installed under that name.
file(GLOB _plugin_readmes RELATIVE "${PROJECT_SOURCE_DIR}/plugins" "${PROJECT_SOURCE_DIR}/plugins/*/README.md")
foreach(readme ${_plugin_readmes})
  get_filename_component(plugin "${readme}" DIRECTORY)
  install(FILES "plugins/${readme}" DESTINATION ${VMM_DOC_DIR}/plugins/${plugin})
endforeach()
install(FILES plugins/simvirtio/README.md DESTINATION ${VMM_DOC_DIR} RENAME simvirtio-specification.md)

# Man pages and the Debian changelog, compressed as Debian wants them
# (gzip -9n: no name or time stamp, so the package is reproducible).
find_program(VMM_GZIP gzip REQUIRED)
set(_compressed "")
foreach(page vmm.1 vmm-machine.5 changelog.Debian)
  if(page STREQUAL "changelog.Debian")
    set(source "${PROJECT_SOURCE_DIR}/dist/changelog.Debian")
  else()
    set(source "${PROJECT_SOURCE_DIR}/docs/man/${page}")
  endif()
  set(output "${CMAKE_BINARY_DIR}/dist/${page}.gz")
  add_custom_command(OUTPUT "${output}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_BINARY_DIR}/dist"
    COMMAND ${VMM_GZIP} -9n -c "${source}" > "${output}"
    DEPENDS "${source}"
    COMMENT "Compressing ${page}")
  list(APPEND _compressed "${output}")
endforeach()
add_custom_target(vmm-dist-files ALL DEPENDS ${_compressed})
install(FILES "${CMAKE_BINARY_DIR}/dist/vmm.1.gz" DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES "${CMAKE_BINARY_DIR}/dist/vmm-machine.5.gz" DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES "${CMAKE_BINARY_DIR}/dist/changelog.Debian.gz" DESTINATION ${VMM_DOC_DIR})
# Deliberate choices lintian would flag, each explained in its file.
install(FILES dist/lintian/vmm DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides)
install(FILES dist/lintian/vmm-dev DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides COMPONENT dev)
install(FILES dist/vmm.bash-completion DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME vmm)
# The -dev package's own doc directory (Debian: every package has one).
install(FILES dist/copyright DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/vmm-dev COMPONENT dev)
install(FILES "${CMAKE_BINARY_DIR}/dist/changelog.Debian.gz" DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/vmm-dev
        COMPONENT dev)

set(CPACK_PACKAGE_NAME vmm)
set(CPACK_PACKAGE_VENDOR "the vmm authors")
set(CPACK_PACKAGE_CONTACT "vmm maintainers <vmm@example.org>")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
# Each package's description below starts with its own synopsis line. CPack
# would put this summary above it, unless it is CPack's default text (the
# value CPack.cmake sets), which it leaves out.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Not CPACK_STRIP_FILES: the -dbgsym split (CPACK_DEBIAN_DEBUGINFO_PACKAGE)
# takes the debug information out of the unstripped files, then strips them.
set(CPACK_GENERATOR DEB)
set(CPACK_COMPONENTS_ALL vmm dev)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.org/vmm")
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_VMM_PACKAGE_NAME vmm)
set(CPACK_DEBIAN_VMM_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_VMM_DESCRIPTION "plugin-based virtual machine monitor on Linux KVM
A small core owns the VM, the guest memory map and the vCPU loops, and
routes port I/O and MMIO to device plugins loaded as shared objects, as a
TOML machine description says. Includes the bundled plugins, guests and
machines, man pages and bash completion.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME vmm-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_DEV_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "vmm (= ${PROJECT_VERSION}-1), gcc, binutils")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "cmake, pkg-config")
set(CPACK_DEBIAN_DEV_DESCRIPTION "SDK for vmm device plugins and guests
The C ABI header and header-only C++ layer for device plugins, a CMake
package (vmm_add_plugin, vmm_add_guest) and pkg-config files, and the
guest SDK: start code for each CPU mode, linker scripts, port and MMIO I/O,
console output and formatting, spinlocks, the SIMVIRTIO driver and the
hypercall header, with an example plugin and its guest.")

include(CPack)
