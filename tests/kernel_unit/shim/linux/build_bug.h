/* User-space stand-in: the kernel's one- or two-argument static_assert. */
#ifndef SHIM_LINUX_BUILD_BUG_H
#define SHIM_LINUX_BUILD_BUG_H
#undef static_assert
#define static_assert(expr, ...) _Static_assert(expr, #expr)
#endif
