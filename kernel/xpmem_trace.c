// SPDX-License-Identifier: GPL-2.0
/*
 * The tracepoints of xpmem_trace.h are defined here, once; every other
 * file only includes the header.
 */
#define CREATE_TRACE_POINTS
#include "xpmem_trace.h"
