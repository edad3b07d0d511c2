# The version wsrelay reports (--version and wsrelay_build_info): the project
# version above, the one place it is set, plus `git describe --always
# --dirty` when the source is a git checkout, e.g. "0.1.0 (git
# v0.1.0-3-gabc1234-dirty)". A release tarball has no .git and gets the
# bare project version; so does a checkout where git is missing or refuses
# the repository (e.g. another user's, under safe.directory rules).
set(WSRELAY_VERSION_STRING "${PROJECT_VERSION}")

# Only this checkout's own .git (a folder, or a file in a worktree): an
# unpacked tarball that happens to sit inside some other repository must not
# take that repository's description.
if(EXISTS "${PROJECT_SOURCE_DIR}/.git")
  find_package(Git QUIET)
endif()
if(GIT_FOUND)
  execute_process(
    COMMAND "${GIT_EXECUTABLE}" describe --always --dirty
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    OUTPUT_VARIABLE wsrelay_git_describe OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE wsrelay_git_result ERROR_QUIET)
  execute_process(
    COMMAND "${GIT_EXECUTABLE}" rev-parse --absolute-git-dir --symbolic-full-name HEAD
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    OUTPUT_VARIABLE wsrelay_git_paths OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE wsrelay_git_paths_result ERROR_QUIET)
  if(wsrelay_git_result EQUAL 0 AND wsrelay_git_describe)
    set(WSRELAY_VERSION_STRING "${PROJECT_VERSION} (git ${wsrelay_git_describe})")
  endif()
  # The value is fixed at configure time, so configure again whenever a
  # commit, checkout, tag or `git add` moves what describe would say. An edit
  # that is not yet staged is not seen until one of those happens.
  if(wsrelay_git_paths_result EQUAL 0)
    string(REPLACE "\n" ";" wsrelay_git_paths "${wsrelay_git_paths}")
    list(GET wsrelay_git_paths 0 wsrelay_git_dir)
    list(GET wsrelay_git_paths -1 wsrelay_git_ref)
    foreach(file HEAD index packed-refs refs/tags "${wsrelay_git_ref}")
      if(EXISTS "${wsrelay_git_dir}/${file}")
        set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY
          CMAKE_CONFIGURE_DEPENDS "${wsrelay_git_dir}/${file}")
      endif()
    endforeach()
  endif()
endif()
message(STATUS "wsrelay version: ${WSRELAY_VERSION_STRING}")
