/*
 * pyconfig.h for cross-compiling jailcore's extension for FreeBSD (amd64 and
 * arm64) from another system: used by tools/xbuild.py only, never installed.
 *
 * Why it exists.  There is no FreeBSD CPython to take headers from, so
 * xbuild.py compiles against the running interpreter's include directory,
 * which is the same on every platform except for pyconfig.h.  The host's
 * pyconfig.h is unusable or wrong for a FreeBSD target:
 *
 *  - Debian's /usr/include/python3.X/pyconfig.h is a multiarch switch that
 *    ends in #error for any non-Linux target;
 *  - a plain Linux pyconfig.h (pyenv, python.org builds) does compile with
 *    -Werror, but describes Linux: SIZEOF_FPOS_T is 16 (FreeBSD: 8),
 *    HAVE_GCC_ASM_FOR_X87 is set for the aarch64 targets too, HAVE_KQUEUE is
 *    missing, and hundreds of HAVE_* entries (epoll, sys/sysmacros.h, ...)
 *    name Linux-only interfaces.
 *
 * What it contains.  Only the macros that Python's public headers (Python.h,
 * pyport.h, unicodeobject.h, the cpython/ headers; not internal/, which needs
 * Py_BUILD_CORE) test, with the values a FreeBSD 14/15 build of CPython
 * has on LP64 little-endian amd64 and arm64, plus the feature-test macros
 * CPython's configure defines on FreeBSD.  xbuild.py copies the host's
 * include directory without its pyconfig.h and puts this file in its place,
 * because Python.h includes "pyconfig.h" from its own directory first.
 * Nothing in it changes the layout of a Python object: those sizes are the
 * same on every LP64 system.
 */
#ifndef Py_PYCONFIG_H
#define Py_PYCONFIG_H

/* Feature-test macros: configure defines these on FreeBSD as on Linux. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define _NETBSD_SOURCE 1
#define __BSD_VISIBLE 1
#define _DARWIN_C_SOURCE 1
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#define _XOPEN_SOURCE_EXTENDED 1
#define _REENTRANT 1

/* Type sizes and alignments: FreeBSD amd64 and arm64 are both LP64. */
#define SIZEOF__BOOL 1
#define SIZEOF_SHORT 2
#define SIZEOF_INT 4
#define SIZEOF_LONG 8
#define SIZEOF_LONG_LONG 8
#define SIZEOF_VOID_P 8
#define SIZEOF_SIZE_T 8
#define SIZEOF_UINTPTR_T 8
#define SIZEOF_OFF_T 8
#define SIZEOF_FPOS_T 8         /* fpos_t is __off_t on FreeBSD */
#define SIZEOF_TIME_T 8         /* 64-bit time_t on amd64 and arm64 */
#define SIZEOF_PID_T 4
#define SIZEOF_PTHREAD_T 8      /* a pointer on FreeBSD */
#define SIZEOF_PTHREAD_KEY_T 4  /* an int on FreeBSD */
#define SIZEOF_WCHAR_T 4
#define SIZEOF_FLOAT 4
#define SIZEOF_DOUBLE 8
#define SIZEOF_LONG_DOUBLE 16   /* x87 extended (padded) on amd64, binary128 on arm64 */
#define ALIGNOF_LONG 8
#define ALIGNOF_SIZE_T 8
#define DOUBLE_IS_LITTLE_ENDIAN_IEEE754 1
#define HAVE_LONG_DOUBLE 1
#define HAVE_GCC_UINT128_T 1

#if defined(__x86_64__)
#define HAVE_GCC_ASM_FOR_X64 1
#define HAVE_GCC_ASM_FOR_X87 1
#elif !defined(__aarch64__)
#error "tools/freebsd-pyconfig/pyconfig.h describes FreeBSD amd64 and arm64 only"
#endif

/* Headers and interfaces FreeBSD has that the public headers test for. */
#define STDC_HEADERS 1
#define HAVE_STDINT_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_UNISTD_H 1
#define HAVE_WCHAR_H 1
#define HAVE_ERRNO_H 1
#define HAVE_SIGNAL_H 1
#define HAVE_FCNTL_H 1
#define HAVE_DLFCN_H 1
#define HAVE_PTHREAD_H 1
#define HAVE_LANGINFO_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TIME_H 1
#define HAVE_SYS_SELECT_H 1
#define HAVE_SSIZE_T 1
#define HAVE_CLOCK_GETTIME 1
#define HAVE_KQUEUE 1
#define HAVE_FORK 1
#define HAVE_DYNAMIC_LOADING 1
#define HAVE_STD_ATOMIC 1
#define HAVE_BUILTIN_ATOMIC 1

/* How CPython itself is built by the FreeBSD ports (lang/python3*). */
#define Py_ENABLE_SHARED 1
#define WITH_PYMALLOC 1
#define WITH_DOC_STRINGS 1
#define WITH_FREELISTS 1
#define PY_SUPPORT_TIER 0

#endif /* Py_PYCONFIG_H */
