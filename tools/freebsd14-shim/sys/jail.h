/*
 * <sys/jail.h> as FreeBSD 14 declares it, for the 14.x builds of
 * tools/xbuild.py, which put this directory first on the include path.
 *
 * zig cc carries one set of FreeBSD headers, 15's, whatever release the
 * target names; only __FreeBSD_version follows the target (zig defines it,
 * 1400500 for -target <arch>-freebsd.14.0).  This header includes zig's
 * <sys/jail.h> and takes away what FreeBSD 15 added to it:
 *
 *  - the jail_set(2)/jail_get(2) flags JAIL_USE_DESC, JAIL_AT_DESC,
 *    JAIL_GET_DESC and JAIL_OWN_DESC are not defined;
 *  - JAIL_SET_MASK and JAIL_GET_MASK have 14's values, 0x0f and 0x08;
 *  - jail_attach_jd(2) and jail_remove_jd(2) are not declared: 15's
 *    prototypes are read under other names (below), so that after this
 *    header the two names are undeclared, as after 14's, and a call to
 *    either fails to compile (C99 has no implicit declarations; clang
 *    makes that an error, and -Werror would anyway).
 *
 * So a 14.x build of jailcore compiles only if its C takes the dlsym(3)
 * path for the jail descriptor calls (JC_DIRECT_JAILDESC 0 in
 * csrc/kernel.c).  The rest of 14's <sys/jail.h> is the same as 15's for
 * programs (not _KERNEL).  Nothing here is installed or used by a real
 * build: it exists for the cross-compile check only.
 */
#ifndef JC_FREEBSD14_SHIM_SYS_JAIL_H
#define JC_FREEBSD14_SHIM_SYS_JAIL_H

#if !defined(__FreeBSD_version) || __FreeBSD_version < 1400000 || \
    __FreeBSD_version >= 1500000
#error "tools/freebsd14-shim: for FreeBSD 14 targets only, and __FreeBSD_version is not 14's"
#endif

/* 15's prototypes of the descriptor calls, declared under these names. */
#define jail_attach_jd jc_freebsd14_has_no_jail_attach_jd
#define jail_remove_jd jc_freebsd14_has_no_jail_remove_jd

#include_next <sys/jail.h>

#undef jail_attach_jd
#undef jail_remove_jd

#undef JAIL_USE_DESC
#undef JAIL_AT_DESC
#undef JAIL_GET_DESC
#undef JAIL_OWN_DESC

#undef JAIL_SET_MASK
#define JAIL_SET_MASK 0x0f
#undef JAIL_GET_MASK
#define JAIL_GET_MASK 0x08

#endif /* JC_FREEBSD14_SHIM_SYS_JAIL_H */
