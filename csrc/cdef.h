/* The part of jailcore._native's cdef that only cffi reads.  build.py adds
 * csrc/jc_api.h (jailcore's own interface, which the compiler reads too) and
 * the declarations of csrc/model/jailmodel.h (the model's ABI). */

struct iovec {
    void *iov_base;
    size_t iov_len;
};

static const int JC_HAS_KERNEL;

/* The model's host-side structures, opaque to Python: jailcore calls them
 * through its own seam (csrc/net.c, csrc/mount.c), never directly. */
struct jailmodel_statfs;
struct jailmodel_ifaddrs;
struct jailmodel_devfs_node;
struct jailmodel_kevent;
struct timespec;
