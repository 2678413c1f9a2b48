# install.cmake: every install() rule of syncd, included as the last line of
# the top-level CMakeLists.txt (all targets exist by then).
#
#   sbin/syncd, bin/syncctl         (rules in daemon/ and client/syncctl/)
#   lib/libsyncclient.so.X.Y.Z, .so.0 (SONAME), .so, lib/libsyncclient.a
#   include/syncclient.h
#   lib/pkgconfig/syncclient.pc
#   lib/cmake/syncclient/syncclientConfig.cmake, ...ConfigVersion.cmake
#   lib/systemd/system/syncd.service, syncd.socket
#   etc/syncd/syncd.conf            (only when none is there yet)
#   share/doc/syncd/                README.md, LICENSE, docs/*.md, syncd.conf.example
#   share/man/man{1,3,7,8}/         syncctl.1, libsyncclient.3 (+ one
#                                    .so stub per sync_* function),
#                                    syncd-python.7, syncd.8
#   lib/python3.X/dist-packages/syncd/ the Python package (python/CMakeLists.txt)
#
# Files that name the installation prefix (the .pc file, the units) are
# generated when installing, so `cmake --install build --prefix P` gets
# paths under P (see cmake/syncd_install_generated.cmake).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(SYNCD_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the systemd units go (relative to the prefix, or absolute)")
option(SYNCD_INSTALL_SYSCONF
       "Install syncd.conf into SYSCONFDIR/syncd when none is there yet" ON)

# ---- programs ---------------------------------------------------------------
# Installed by the rules next to their targets, not repeated here:
#   syncd    install(TARGETS syncd RUNTIME DESTINATION sbin) in daemon/
#   syncctl  install(TARGETS syncctl RUNTIME DESTINATION bin) in client/syncctl/

# ---- libsyncclient ------------------------------------------------------------
install(TARGETS syncclient
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The in-tree syncclient_static links the internal static library syncproto
# (framing, error table, generated protobuf-c code) at link time only, so its
# archive alone lacks those symbols.  The installed archive is built from the
# same object files (nothing is compiled twice) plus syncproto's, so
# libsyncclient.a needs only libprotobuf-c, pthread and libm next to it.
add_library(syncclient_static_install STATIC
  $<TARGET_OBJECTS:syncclient_static>
  $<TARGET_OBJECTS:syncproto>
  $<TARGET_OBJECTS:syncproto_gen>)
set_target_properties(syncclient_static_install PROPERTIES
  OUTPUT_NAME syncclient
  LINKER_LANGUAGE C
  ARCHIVE_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/install-lib)
install(TARGETS syncclient_static_install
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

install(FILES ${PROJECT_SOURCE_DIR}/client/syncclient.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# A sanitized build (SYNCD_SANITIZE=ON) installs instrumented libraries:
# whoever links them needs the sanitizer runtimes, so the .pc file and the
# CMake targets say so.
if(SYNCD_SANITIZE)
  set(SYNCCLIENT_LINK_OPTIONS "-fsanitize=address,undefined")
else()
  set(SYNCCLIENT_LINK_OPTIONS "")
endif()

# ---- CMake package: find_package(syncclient) ---------------------------------
get_target_property(SYNCCLIENT_VERSION syncclient VERSION)
get_target_property(SYNCCLIENT_SOVERSION syncclient SOVERSION)
set(SYNCCLIENT_SHARED_FILE
    "${CMAKE_SHARED_LIBRARY_PREFIX}syncclient${CMAKE_SHARED_LIBRARY_SUFFIX}.${SYNCCLIENT_VERSION}")
set(SYNCCLIENT_SONAME
    "${CMAKE_SHARED_LIBRARY_PREFIX}syncclient${CMAKE_SHARED_LIBRARY_SUFFIX}.${SYNCCLIENT_SOVERSION}")
set(SYNCCLIENT_STATIC_FILE
    "${CMAKE_STATIC_LIBRARY_PREFIX}syncclient${CMAKE_STATIC_LIBRARY_SUFFIX}")
set(SYNCCLIENT_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/syncclient)

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/syncclientConfig.cmake.in
  ${CMAKE_BINARY_DIR}/install-gen/syncclientConfig.cmake
  INSTALL_DESTINATION ${SYNCCLIENT_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
# SOVERSION 0 covers every 0.x release.
write_basic_package_version_file(
  ${CMAKE_BINARY_DIR}/install-gen/syncclientConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/install-gen/syncclientConfig.cmake
              ${CMAKE_BINARY_DIR}/install-gen/syncclientConfigVersion.cmake
        DESTINATION ${SYNCCLIENT_CMAKEDIR})

# ---- files naming the prefix: syncclient.pc, units, syncd.conf --------------
# Generated at install time from the prefix actually used.
install(CODE "
set(SYNCD_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
set(SYNCD_GEN_DIR \"${CMAKE_BINARY_DIR}/install-gen\")
set(SYNCD_VERSION \"${PROJECT_VERSION}\")
set(SYNCD_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
set(SYNCD_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
set(SYNCD_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")
set(SYNCD_SBINDIR \"sbin\")
set(SYNCD_UNITDIR \"${SYNCD_SYSTEMD_UNITDIR}\")
set(SYNCD_INSTALL_SYSCONF \"${SYNCD_INSTALL_SYSCONF}\")
set(SYNCCLIENT_LINK_OPTIONS \"${SYNCCLIENT_LINK_OPTIONS}\")
include(\"${PROJECT_SOURCE_DIR}/cmake/syncd_install_generated.cmake\")
")

# ---- documentation ------------------------------------------------------------
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE
              ${PROJECT_SOURCE_DIR}/docs/syncd.conf.example
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/
        DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md"
        PATTERN "man" EXCLUDE)

install(FILES ${PROJECT_SOURCE_DIR}/docs/man/syncd.8
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/syncctl.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/libsyncclient.3
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/syncd-python.7
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man7)

# `man sync_lock_acquire` and friends: one stub per public function of
# syncclient.h, pointing at libsyncclient(3).
file(STRINGS ${PROJECT_SOURCE_DIR}/client/syncclient.h _syncd_api_lines
     REGEX "^SYNC_API ")
set(_syncd_man3_stubs "")
file(REMOVE_RECURSE ${CMAKE_BINARY_DIR}/install-gen/man3)
foreach(_line IN LISTS _syncd_api_lines)
  if(_line MATCHES "[ *](sync_[a-z0-9_]+)\\(")
    set(_stub ${CMAKE_BINARY_DIR}/install-gen/man3/${CMAKE_MATCH_1}.3)
    file(WRITE ${_stub} ".so man3/libsyncclient.3\n")
    list(APPEND _syncd_man3_stubs ${_stub})
  endif()
endforeach()
# Re-run CMake when the header gains a function.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${PROJECT_SOURCE_DIR}/client/syncclient.h)
install(FILES ${_syncd_man3_stubs} DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)
