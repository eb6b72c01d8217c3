/* User-space stand-in (tests/kernel_unit). */
#include <stddef.h>
