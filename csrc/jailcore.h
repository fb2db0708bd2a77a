/* jailcore.h: what the generated C of jailcore._native includes.
 *
 * Platform differences live here and in kernel.c, decided by the
 * preprocessor, so that the generated file is the same everywhere. */
#ifndef JAILCORE_H
#define JAILCORE_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "jailmodel.h"

#if defined(__FreeBSD__)
#define JC_HAS_KERNEL 1
#else
#define JC_HAS_KERNEL 0
#endif

#include "jc_api.h"

#endif /* JAILCORE_H */
