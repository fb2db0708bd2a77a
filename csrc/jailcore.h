/* jailcore.h: what the generated C of jailcore._native includes.
 *
 * Platform differences live here and in kernel.c, decided by the
 * preprocessor, so that the generated file is the same everywhere. */
#ifndef JAILCORE_H
#define JAILCORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "jailmodel.h"

#if defined(__FreeBSD__)
#define JC_HAS_KERNEL 1
#else
#define JC_HAS_KERNEL 0
#endif

#include "jc_api.h"

#include <errno.h>

/* A call's result, or -errno for a failed call (EIO should a failed call
 * leave errno 0, which none does, so that a failure never reads as 0). */
static inline int
jc_result(int r)
{
	if (r != -1)
		return r;
	return errno > 0 ? -errno : -EIO;
}

#endif /* JAILCORE_H */
