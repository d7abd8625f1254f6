# vmm_add_guest: build a guest program for vmm with gcc and ld, with none of
# the host's flags (no sanitizers, no PIC, no libc, no libgcc).
#
#   vmm_add_guest(<name> MODE real|protected|long SOURCES <file>...
#                 [LINKER_SCRIPT <file>] [INCLUDES <dir>...] [CFLAGS <flag>...]
#                 [DRIVERS simvirtio interrupts] [OUTPUT_DIRECTORY <dir>])
#
# MODE picks the architecture and adds the guest SDK: the start code of that
# mode (_start calls main(); the guest halts with main's value in EAX/RAX),
# a linker script (the image at 0x1000, an ELF the machine file loads with
# `mode = "<MODE>"`), the console and formatting library, and the SDK's
# headers on the include path (io.h, mmio.h, console.h, format.h,
# spinlock.h, simvirtio.h, interrupts.h, hypercall.h). DRIVERS links the
# SIMVIRTIO driver or the IDT/PIC helpers (long mode) too.
#
# The lower-level form, which vmm's own guests use, gives everything itself:
#   vmm_add_guest(<name> ARCH i386|x86_64 SOURCES <file>...
#                 [TEXT_ADDRESS <addr> | LINKER_SCRIPT <file>] [FORMAT binary|elf]
#                 [INCLUDES <dir>...] [CFLAGS <flag>...] [LIBRARY])
#
# The result is <OUTPUT_DIRECTORY>/<name>.elf (or .bin), default
# ${CMAKE_CURRENT_BINARY_DIR} or ${VMM_GUEST_OUTPUT_DIR}, made by the target
# guest-<name> (listed in VMM_GUEST_TARGETS), and installed into
# VMM_GUEST_INSTALL_DIR when that is set. Where the guest SDK is: VMM_GUEST_SDK_INCLUDE_DIR (headers)
# and VMM_GUEST_SDK_SOURCE_DIR (library sources, start code, linker
# scripts), set by find_package(VmmSdk) or by vmm's own build.

find_program(VMM_GUEST_CC NAMES gcc cc REQUIRED)
find_program(VMM_GUEST_LD NAMES ld ld.bfd REQUIRED)
# gcc's own freestanding headers (stdint.h, stddef.h) without the libc ones.
execute_process(COMMAND ${VMM_GUEST_CC} -print-file-name=include OUTPUT_VARIABLE VMM_GUEST_GCC_INCLUDE
                OUTPUT_STRIP_TRAILING_WHITESPACE)

# Flags every guest object gets. --param=min-pagesize=0: GCC 12 takes a store
# to a constant address below 4 KiB (a guest's result word at 0x400) for a
# null-pointer offset and warns -Warray-bounds; in a guest it is real memory.
# --noexecstack / -z noexecstack: an assembler file without .note.GNU-stack
# would otherwise make ld 2.40 warn of an executable stack.
# A guest is one identity-mapped image: code and data in one RWX segment is
# what it is, and ld >= 2.39 would warn about it on every link.
execute_process(COMMAND ${VMM_GUEST_LD} --help OUTPUT_VARIABLE _vmm_ld_help ERROR_QUIET)
set(VMM_GUEST_LD_QUIET "")
if(_vmm_ld_help MATCHES "--no-warn-rwx-segments")
  set(VMM_GUEST_LD_QUIET --no-warn-rwx-segments)
endif()
unset(_vmm_ld_help)

set(VMM_GUEST_BASE_FLAGS -ffreestanding -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables
    -fcf-protection=none -fno-builtin -nostdinc -O2 -Wall -Wextra -g --param=min-pagesize=0 -Wa,--noexecstack
    -isystem ${VMM_GUEST_GCC_INCLUDE})

function(vmm_add_guest name)
  cmake_parse_arguments(G "LIBRARY" "ARCH;MODE;TEXT_ADDRESS;LINKER_SCRIPT;FORMAT;OUTPUT_DIRECTORY"
                        "SOURCES;INCLUDES;CFLAGS;DRIVERS" ${ARGN})
  if(NOT G_SOURCES)
    message(FATAL_ERROR "vmm_add_guest(${name}): SOURCES is required")
  endif()
  set(sdk_src "${VMM_GUEST_SDK_SOURCE_DIR}")
  set(extra_sources "")
  set(real16 OFF)
  if(G_MODE)
    if(G_ARCH)
      message(FATAL_ERROR "vmm_add_guest(${name}): give MODE or ARCH, not both")
    endif()
    if(G_MODE STREQUAL "long")
      set(G_ARCH x86_64)
      set(start start64.S)
    elseif(G_MODE STREQUAL "protected")
      set(G_ARCH i386)
      set(start start32.S)
    elseif(G_MODE STREQUAL "real")
      set(G_ARCH i386)
      set(start start16.S)
      set(real16 ON) # gcc -m16: 32-bit code run by a 16-bit CPU, with prefixes
    else()
      message(FATAL_ERROR "vmm_add_guest(${name}): MODE must be real, protected or long, not '${G_MODE}'")
    endif()
    if(NOT G_LINKER_SCRIPT)
      set(G_LINKER_SCRIPT "${sdk_src}/guest-${G_MODE}.ld")
    endif()
    if(NOT G_FORMAT)
      set(G_FORMAT elf)
    endif()
    set(G_LIBRARY ON)
    list(APPEND extra_sources "${sdk_src}/${start}")
    foreach(driver ${G_DRIVERS})
      if(NOT EXISTS "${sdk_src}/${driver}.c")
        message(FATAL_ERROR "vmm_add_guest(${name}): no guest driver '${driver}' (there are simvirtio, interrupts)")
      endif()
      list(APPEND G_SOURCES "${sdk_src}/${driver}.c")
    endforeach()
  endif()
  if(NOT G_FORMAT)
    set(G_FORMAT binary)
  endif()
  set(flags ${VMM_GUEST_BASE_FLAGS} ${G_CFLAGS})
  set(header_depends "")
  if(G_LIBRARY)
    list(APPEND G_SOURCES "${sdk_src}/console.c" "${sdk_src}/format.c")
    list(APPEND G_INCLUDES "${VMM_GUEST_SDK_INCLUDE_DIR}")
    # IMPLICIT_DEPENDS does not search -I directories given as flags.
    file(GLOB header_depends "${VMM_GUEST_SDK_INCLUDE_DIR}/*.h")
  endif()
  foreach(dir ${G_INCLUDES})
    get_filename_component(dir "${dir}" ABSOLUTE)
    list(APPEND flags -I${dir})
  endforeach()
  if(G_ARCH STREQUAL "i386" AND real16)
    list(APPEND flags -m16 -march=i686)
    set(emulation elf_i386)
  elseif(G_ARCH STREQUAL "i386")
    list(APPEND flags -m32 -march=i686)
    set(emulation elf_i386)
  elseif(G_ARCH STREQUAL "x86_64")
    list(APPEND flags -m64 -mno-red-zone -mgeneral-regs-only -mcmodel=small)
    set(emulation elf_x86_64)
  else()
    message(FATAL_ERROR "vmm_add_guest(${name}): give MODE (real, protected, long) or ARCH (i386, x86_64)")
  endif()

  set(objects "")
  foreach(source ${extra_sources} ${G_SOURCES})
    get_filename_component(abs "${source}" ABSOLUTE)
    get_filename_component(base "${source}" NAME)
    # Named after the source's path, so two sources called console.c differ.
    file(RELATIVE_PATH relative "${CMAKE_CURRENT_SOURCE_DIR}" "${abs}")
    string(REPLACE "/" "_" flat "${relative}")
    string(REPLACE ".." "up" flat "${flat}")
    set(object "${CMAKE_CURRENT_BINARY_DIR}/${name}.${flat}.o")
    add_custom_command(OUTPUT "${object}"
      COMMAND ${VMM_GUEST_CC} ${flags} -c "${abs}" -o "${object}"
      DEPENDS "${abs}" ${header_depends}
      IMPLICIT_DEPENDS C "${abs}"
      COMMENT "Guest ${name}: compiling ${base}"
      VERBATIM)
    list(APPEND objects "${object}")
  endforeach()

  set(link_flags -m ${emulation} -nostdlib --build-id=none -z noexecstack ${VMM_GUEST_LD_QUIET} -e _start)
  if(G_LINKER_SCRIPT)
    get_filename_component(script "${G_LINKER_SCRIPT}" ABSOLUTE)
    list(APPEND link_flags -T "${script}")
    set(link_depends "${script}")
  elseif(G_TEXT_ADDRESS)
    list(APPEND link_flags -Ttext=${G_TEXT_ADDRESS})
    set(link_depends "")
  else()
    message(FATAL_ERROR "vmm_add_guest(${name}): give TEXT_ADDRESS or LINKER_SCRIPT")
  endif()
  set(out_dir "${G_OUTPUT_DIRECTORY}")
  if(NOT out_dir)
    set(out_dir "${VMM_GUEST_OUTPUT_DIR}")
  endif()
  if(NOT out_dir)
    set(out_dir "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  if(G_FORMAT STREQUAL "binary")
    list(APPEND link_flags --oformat binary)
    set(output "${out_dir}/${name}.bin")
  else()
    set(output "${out_dir}/${name}.elf")
  endif()
  add_custom_command(OUTPUT "${output}"
    COMMAND ${VMM_GUEST_LD} ${link_flags} -o "${output}" ${objects}
    DEPENDS ${objects} ${link_depends}
    COMMENT "Guest ${name}: linking ${output}"
    VERBATIM)
  # A flat guest gets its ELF too, in the build tree (same objects, with
  # symbols and debug information) for `gdb <name>.elf`; the .bin is what
  # runs, unchanged.
  set(debug_elf "")
  if(G_FORMAT STREQUAL "binary")
    set(debug_elf "${out_dir}/${name}.elf")
    set(elf_link_flags ${link_flags})
    list(REMOVE_ITEM elf_link_flags --oformat binary)
    add_custom_command(OUTPUT "${debug_elf}"
      COMMAND ${VMM_GUEST_LD} ${elf_link_flags} -o "${debug_elf}" ${objects}
      DEPENDS ${objects} ${link_depends}
      COMMENT "Guest ${name}: linking ${debug_elf} (symbols for gdb)"
      VERBATIM)
  endif()
  add_custom_target(guest-${name} ALL DEPENDS "${output}" ${debug_elf})
  set_target_properties(guest-${name} PROPERTIES VMM_GUEST_FILE "${output}")
  if(VMM_GUEST_INSTALL_DIR)
    install(FILES "${output}" DESTINATION ${VMM_GUEST_INSTALL_DIR})
    if(G_FORMAT STREQUAL "elf" AND CMAKE_STRIP)
      # The installed copy loses its symbol table (the build tree's keeps it,
      # for a debugger): an unstripped ELF without a build ID is what
      # packaging tools (CPack's -dbgsym split, dh_strip) stop at.
      get_filename_component(file_name "${output}" NAME)
      install(CODE "execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-all
                      \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${VMM_GUEST_INSTALL_DIR}/${file_name}\")")
    endif()
  endif()
  set(VMM_GUEST_TARGETS ${VMM_GUEST_TARGETS} guest-${name} CACHE INTERNAL "")
endfunction()
