/*
 * mount.c: the seam's host-side calls (placeholder until they land).
 */
#include "jailcore.h"
