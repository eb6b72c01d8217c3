// SPDX-License-Identifier: GPL-2.0
/* Cluster control ioctls: not implemented yet. */
#include "xpmem_internal.h"

long xpmem_ioctl_control(unsigned int cmd, void __user *arg)
{
	return -ENOTTY;
}
