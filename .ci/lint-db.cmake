# cmake -DIN=build/compile_commands.json -DROOT=<repo> -DOUT_DIR=<dir> -P .ci/lint-db.cmake
#
# Writes OUT_DIR/compile_commands.json with only the entries for files under
# ROOT/app/ and ROOT/tests/, and OUT_DIR/files.txt listing those files one a
# line. The build's database also holds CivetWeb, which is not ours to lint,
# and cppcheck's own --file-filter cannot be trusted to select several
# folders (2.10 silently drops some when run with -j).
cmake_minimum_required(VERSION 3.25)

file(READ "${IN}" db)
string(JSON count LENGTH "${db}")
# Entries are JSON text, built up as a string: a CMake list would split them
# at any ';' inside a command line.
set(body "")
set(files "")
if(count GREATER 0)
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON file GET "${db}" ${i} file)
    cmake_path(IS_PREFIX ROOT "${file}" NORMALIZE inside)
    file(RELATIVE_PATH rel "${ROOT}" "${file}")
    if(inside AND (rel MATCHES "^(app|tests)/"))
      string(JSON entry GET "${db}" ${i})
      if(body)
        string(APPEND body ",\n")
      endif()
      string(APPEND body "${entry}")
      # A file built by two targets appears twice; lint it once.
      if(NOT file IN_LIST files)
        list(APPEND files "${file}")
      endif()
    endif()
  endforeach()
endif()
if(NOT files)
  message(FATAL_ERROR "${IN} lists no file under ${ROOT}/app or ${ROOT}/tests")
endif()

file(WRITE "${OUT_DIR}/compile_commands.json" "[\n${body}\n]\n")
list(JOIN files "\n" lines)
file(WRITE "${OUT_DIR}/files.txt" "${lines}\n")
