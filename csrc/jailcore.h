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

#define JC_BACKEND_KERNEL 0
#define JC_BACKEND_MODEL 1

const char *jc_version(void);
int jc_has_jaildesc(int backend);

int jc_jail_set(int backend, struct iovec *iov, unsigned int niov, int flags, int *err);
int jc_jail_get(int backend, struct iovec *iov, unsigned int niov, int flags, int *err);
int jc_jail_attach(int backend, int jid, int *err);
int jc_jail_remove(int backend, int jid, int *err);
int jc_jail_attach_jd(int backend, int fd, int *err);
int jc_jail_remove_jd(int backend, int fd, int *err);
int jc_sysctl(int backend, const int *name, unsigned int namelen, void *oldp,
              size_t *oldlenp, const void *newp, size_t newlen, int *err);
int jc_sysctlbyname(int backend, const char *name, void *oldp, size_t *oldlenp,
                    const void *newp, size_t newlen, int *err);
int jc_sysctlnametomib(int backend, const char *name, int *mibp, size_t *sizep, int *err);
int jc_kldload(int backend, const char *file, int *err);
int jc_kldfind(int backend, const char *file, int *err);

#endif /* JAILCORE_H */
