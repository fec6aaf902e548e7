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
	 * glibc gives each thread that meets a locked arena a new one, up to
	 * 8 per core; the request threads of both listeners, the committer,
	 * worker and reconciler would each keep one, a few hundred KB once
	 * used. Two are enough: small allocations come from each thread's
	 * cache without an arena's lock, and the intake benchmark shows no
	 * loss (performance.md).
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
