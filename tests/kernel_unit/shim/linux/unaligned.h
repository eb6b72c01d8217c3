/* User-space stand-in: little-endian loads and stores at any byte. */
#ifndef SHIM_LINUX_UNALIGNED_H
#define SHIM_LINUX_UNALIGNED_H

#include <string.h>
#include <linux/types.h>

#define SHIM_UNALIGNED(bits)						\
static inline u##bits get_unaligned_le##bits(const void *p)		\
{									\
	u##bits v;							\
	memcpy(&v, p, sizeof(v));					\
	return le##bits##toh(v);					\
}									\
static inline void put_unaligned_le##bits(u##bits v, void *p)		\
{									\
	v = htole##bits(v);						\
	memcpy(p, &v, sizeof(v));					\
}
SHIM_UNALIGNED(16)
SHIM_UNALIGNED(32)
SHIM_UNALIGNED(64)
#undef SHIM_UNALIGNED

#endif
