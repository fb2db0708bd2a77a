/* The part of jailcore._native's cdef that only cffi reads.  build.py adds
 * csrc/jc_api.h (jailcore's own interface, which the compiler reads too) and
 * the declarations of csrc/model/jailmodel.h (the model's ABI). */

struct iovec {
    void *iov_base;
    size_t iov_len;
};

static const int JC_HAS_KERNEL;
