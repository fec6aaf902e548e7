/* SPDX-License-Identifier: MIT */
/*
 * The process's malloc tuning (see mem.h): glibc only, a no-op elsewhere.
 */
#include "tracksies/mem.h"

#include <stdlib.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

void
mem_init(void)
{
#ifdef __GLIBC__
	/*
	 * 64 webhook and 8 admin request threads would get 16 arenas on 2
	 * cores, each holding a few hundred KB once used. Two are enough:
	 * small allocations come from each thread's cache without an arena's
	 * lock, and the intake benchmark shows no loss (performance.md).
	 */
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		(void)mallopt(M_ARENA_MAX, MEM_ARENAS);
#endif
}

void
mem_release_idle(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}
