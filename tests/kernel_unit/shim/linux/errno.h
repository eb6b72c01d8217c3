/* User-space stand-in (tests/kernel_unit): the errno values alone. */
#include <asm-generic/errno.h>
