# check_layering.cmake: the dependency rule, checked over the sources.
# The object core (daemon/objects/, waitq, registry, handle and what they
# include) must not reach libuv, protobuf-c or the layers above it
# (session, server, dispatch, codec), directly or through a header of
# ours.  Run as: cmake -DSRC=<source dir> -P check_layering.cmake
# Exits non-zero and names the include chain of every violation.

cmake_policy(VERSION 3.20)

if(NOT SRC)
  message(FATAL_ERROR "usage: cmake -DSRC=<source dir> -P check_layering.cmake")
endif()

file(GLOB core_files
  ${SRC}/daemon/objects/*.c ${SRC}/daemon/objects/*.h)
foreach(m waitq registry handle)
  list(APPEND core_files ${SRC}/daemon/${m}.c ${SRC}/daemon/${m}.h)
endforeach()

# What the core may not include (a regex on the included name).
set(forbidden
  "(^|/)uv\\.h$" "(^|/)uv/" "protobuf-c" "\\.pb-c\\.h$"
  "(^|/)session\\.h$" "(^|/)server\\.h$" "(^|/)dispatch[a-z_]*\\.h$"
  "(^|/)codec[a-z_]*\\.h$" "(^|/)fastwire\\.h$")

# Where a quoted include of ours is looked up (besides the file's own dir).
set(search_dirs ${SRC}/daemon ${SRC}/proto ${SRC}/client)

set(failures "")
set(checked 0)

# Walk file's includes depth-first; chain is how we got here.
function(check_file file chain)
  get_property(seen GLOBAL PROPERTY layering_seen)
  if("${file}" IN_LIST seen)
    return()
  endif()
  set_property(GLOBAL APPEND PROPERTY layering_seen ${file})
  file(STRINGS ${file} lines REGEX "^[ \t]*#[ \t]*include")
  get_filename_component(dir ${file} DIRECTORY)
  foreach(line IN LISTS lines)
    string(REGEX MATCH "[<\"]([^>\"]+)[>\"]" _ "${line}")
    set(name ${CMAKE_MATCH_1})
    foreach(bad IN LISTS forbidden)
      if(name MATCHES "${bad}")
        set_property(GLOBAL APPEND PROPERTY layering_failures
          "${chain} -> ${name}")
      endif()
    endforeach()
    if(line MATCHES "\"")
      foreach(d ${dir} ${search_dirs})
        if(EXISTS ${d}/${name})
          get_filename_component(next ${d}/${name} REALPATH)
          file(RELATIVE_PATH rel ${SRC} ${next})
          check_file(${next} "${chain} -> ${rel}")
          break()
        endif()
      endforeach()
    endif()
  endforeach()
endfunction()

set_property(GLOBAL PROPERTY layering_failures "")
foreach(f IN LISTS core_files)
  if(NOT EXISTS ${f})
    message(FATAL_ERROR "layering: ${f} is gone; update the core list")
  endif()
  get_filename_component(f ${f} REALPATH)
  set_property(GLOBAL PROPERTY layering_seen "")
  file(RELATIVE_PATH rel ${SRC} ${f})
  check_file(${f} ${rel})
  math(EXPR checked "${checked} + 1")
endforeach()

get_property(failures GLOBAL PROPERTY layering_failures)
if(failures)
  list(REMOVE_DUPLICATES failures)
  foreach(f IN LISTS failures)
    message("layering violation: ${f}")
  endforeach()
  message(FATAL_ERROR "the object core includes what it must not (see above)")
endif()
message("layering: ${checked} core files and what they include: clean")
