/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * consumer.c - what a package built against an installed libxpmem looks
 * like: it names every API entry point (so the link proves each one is
 * exported) and calls xpmem_version(), which must not crash whether or
 * not a driver is loaded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <xpmem.h>

typedef void (*fn_t)(void);

int main(void)
{
	/* Referencing each symbol makes the link fail if one is missing. */
	static const fn_t api[] = {
		(fn_t)xpmem_init, (fn_t)xpmem_version, (fn_t)xpmem_make,
		(fn_t)xpmem_remove, (fn_t)xpmem_get, (fn_t)xpmem_release,
		(fn_t)xpmem_attach, (fn_t)xpmem_detach,
	};
	int version;
	size_t i;

	for (i = 0; i < sizeof(api) / sizeof(api[0]); i++)
		if (!api[i])
			return 2;

	version = xpmem_version();
	if (version < 0)
		printf("consumer: no driver (%s)\n", strerror(errno));
	else
		printf("consumer: driver ABI 0x%x\n", (unsigned int)version);
	return 0;
}
