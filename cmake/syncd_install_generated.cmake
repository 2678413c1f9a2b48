# syncd_install_generated.cmake: runs inside `cmake --install` (through an
# install(CODE) in install.cmake) and installs the files that name the
# prefix, generated for the prefix actually used (--prefix wins over
# CMAKE_INSTALL_PREFIX at configure time):
#   lib/pkgconfig/syncclient.pc        prefix=<prefix>
#   lib/systemd/system/syncd.service   ExecStart=<prefix>/sbin/syncd
#                                       --config <sysconfdir>/syncd/syncd.conf
#   lib/systemd/system/syncd.socket    as in the source tree
#   <sysconfdir>/syncd/syncd.conf      docs/syncd.conf.example, only when no
#                                       file is there: never overwritten
# file(INSTALL) honours DESTDIR and records each file in install_manifest.txt.
#
# Set by the caller: SYNCD_SOURCE_DIR, SYNCD_GEN_DIR, SYNCD_VERSION,
# SYNCD_LIBDIR, SYNCD_INCLUDEDIR, SYNCD_SYSCONFDIR, SYNCD_SBINDIR,
# SYNCD_UNITDIR, SYNCD_INSTALL_SYSCONF, SYNCCLIENT_LINK_OPTIONS.

# <prefix>/<dir>, or dir itself when absolute.
function(syncd_full_path out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

set(_prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" _prefix "${_prefix}")
if(_prefix STREQUAL "")
  set(_prefix "/")
endif()
set(_gen "${SYNCD_GEN_DIR}/${CMAKE_INSTALL_CONFIG_NAME}")
file(MAKE_DIRECTORY "${_gen}")

# GNUInstallDirs' rule: the prefix /usr (or /) keeps its settings in /etc.
if(IS_ABSOLUTE "${SYNCD_SYSCONFDIR}")
  set(_sysconfdir "${SYNCD_SYSCONFDIR}")
elseif(_prefix STREQUAL "/usr" OR _prefix STREQUAL "/")
  set(_sysconfdir "/${SYNCD_SYSCONFDIR}")
else()
  set(_sysconfdir "${_prefix}/${SYNCD_SYSCONFDIR}")
endif()

# ---- syncclient.pc ----------------------------------------------------------
set(prefix "${_prefix}")
if(IS_ABSOLUTE "${SYNCD_LIBDIR}")
  set(libdir "${SYNCD_LIBDIR}")
else()
  set(libdir "\${exec_prefix}/${SYNCD_LIBDIR}")
endif()
if(IS_ABSOLUTE "${SYNCD_INCLUDEDIR}")
  set(includedir "${SYNCD_INCLUDEDIR}")
else()
  set(includedir "\${prefix}/${SYNCD_INCLUDEDIR}")
endif()
set(PROJECT_VERSION "${SYNCD_VERSION}")
if(SYNCCLIENT_LINK_OPTIONS)
  set(SYNCCLIENT_PC_NOTE "# Built with ${SYNCCLIENT_LINK_OPTIONS} (SYNCD_SANITIZE=ON): programs linking\n# it need the sanitizer runtimes, hence the flag in Libs.\n")
  set(SYNCCLIENT_PC_EXTRA_LIBS " ${SYNCCLIENT_LINK_OPTIONS}")
else()
  set(SYNCCLIENT_PC_NOTE "")
  set(SYNCCLIENT_PC_EXTRA_LIBS "")
endif()
configure_file("${SYNCD_SOURCE_DIR}/cmake/syncclient.pc.in"
               "${_gen}/syncclient.pc" @ONLY)
syncd_full_path(_libdir_full "${SYNCD_LIBDIR}")
file(INSTALL DESTINATION "${_libdir_full}/pkgconfig" TYPE FILE
     FILES "${_gen}/syncclient.pc")

# ---- systemd units ------------------------------------------------------------
syncd_full_path(_sbindir_full "${SYNCD_SBINDIR}")
file(READ "${SYNCD_SOURCE_DIR}/systemd/syncd.service" _unit)
string(REGEX REPLACE "(\nExecStart=)[^ \n]*/syncd( |\n)"
       "\\1${_sbindir_full}/syncd\\2" _unit "${_unit}")
string(REPLACE "/etc/syncd/syncd.conf" "${_sysconfdir}/syncd/syncd.conf"
       _unit "${_unit}")
file(WRITE "${_gen}/syncd.service" "${_unit}")
file(READ "${SYNCD_SOURCE_DIR}/systemd/syncd.socket" _unit)
file(WRITE "${_gen}/syncd.socket" "${_unit}")
syncd_full_path(_unitdir_full "${SYNCD_UNITDIR}")
file(INSTALL DESTINATION "${_unitdir_full}" TYPE FILE
     FILES "${_gen}/syncd.service" "${_gen}/syncd.socket")

# ---- syncd.conf: never overwrite an administrator's file --------------------
if(SYNCD_INSTALL_SYSCONF)
  if(EXISTS "$ENV{DESTDIR}${_sysconfdir}/syncd/syncd.conf")
    message(STATUS "Keeping: $ENV{DESTDIR}${_sysconfdir}/syncd/syncd.conf "
                   "(example in share/doc/syncd/syncd.conf.example)")
  else()
    file(INSTALL DESTINATION "${_sysconfdir}/syncd" TYPE FILE
         RENAME syncd.conf
         FILES "${SYNCD_SOURCE_DIR}/docs/syncd.conf.example")
  endif()
endif()
