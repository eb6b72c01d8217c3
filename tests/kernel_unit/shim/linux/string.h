/* User-space stand-in (tests/kernel_unit). */
#include <string.h>
