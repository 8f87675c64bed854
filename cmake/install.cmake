# cmake/install.cmake: what `cmake --install` puts in place, and how other projects find it.
#
#   include/lrncl.h
#   lib/liblrncl.so.0.2.0 (SONAME liblrncl.so.0.2), liblrncl.so, liblrncl.a
#   bin/lrncl, bin/lrncl-bench                  (tools/cli/, tools/bench/; top level or LRNCL_BUILD_TOOLS)
#   lib/cmake/lrncl/lrnclConfig.cmake, lrnclConfigVersion.cmake, lrnclTargets*.cmake
#                                               find_package(lrncl CONFIG): lrncl::lrncl (shared),
#                                               lrncl::lrncl_static
#   lib/pkgconfig/lrncl.pc                      pkg-config lrncl [--static]
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(LRNCL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lrncl)

install(TARGETS lrncl_shared lrncl_static EXPORT lrnclTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/lrncl.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT lrnclTargets NAMESPACE lrncl:: DESTINATION ${LRNCL_CMAKE_DIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/lrnclConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/lrnclConfig.cmake INSTALL_DESTINATION ${LRNCL_CMAKE_DIR})
# 0.x: a new minor version may change the API, so only the same major.minor is compatible.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/lrnclConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/lrnclConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/lrnclConfigVersion.cmake
  DESTINATION ${LRNCL_CMAKE_DIR})

# pkg-config: Requires OpenCL (every program that calls lrncl makes OpenCL queues and buffers, so
# `pkg-config --libs lrncl` alone links it); zlib is only the static library's (Requires.private).
# Libs.private is what a static link adds: libm and the threads flag (glibc 2.34
# and later need no flag, and FindThreads then reports none; -pthread is harmless there and
# needed on older C libraries).
set(LRNCL_PC_THREADS "${CMAKE_THREAD_LIBS_INIT}")
if(NOT LRNCL_PC_THREADS)
  set(LRNCL_PC_THREADS "-pthread")
endif()
# Relocatable: the prefix is found from the .pc file's own folder, so `cmake --install --prefix`
# and a moved tree both work (pkg-config and pkgconf both define pcfiledir).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(FATAL_ERROR "lrncl.pc needs CMAKE_INSTALL_LIBDIR and CMAKE_INSTALL_INCLUDEDIR relative to the prefix")
endif()
string(REGEX REPLACE "[^/]+" ".." LRNCL_PC_UP "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
configure_file(${CMAKE_CURRENT_LIST_DIR}/lrncl.pc.in ${CMAKE_CURRENT_BINARY_DIR}/lrncl.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/lrncl.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
