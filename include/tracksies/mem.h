/* SPDX-License-Identifier: MIT */
/*
 * The process's malloc: how many arenas the daemon's threads share, and
 * handing pages freed after a burst of work back to the system while the
 * daemon is idle. Both are glibc's (mallopt, malloc_trim); with another C
 * library they are no-ops. SQLite's own caches are released by the thread
 * that owns each connection (sqlite3_db_release_memory), not here.
 */
#ifndef TRACKSIES_MEM_H
#define TRACKSIES_MEM_H

/*
 * Cap glibc's malloc arenas at MEM_ARENAS, unless MALLOC_ARENA_MAX is set
 * in the environment (the operator's choice wins). Without a cap glibc
 * gives up to 8 arenas per core to the request threads, each keeping its
 * own free pages. Main thread, before any other thread starts.
 */
#define MEM_ARENAS 2
void mem_init(void);

/*
 * Return the free pages of every arena to the system (malloc_trim(0)).
 * Costs a walk of the free lists with each arena locked in turn, so call
 * it when nothing is being handled. Any thread.
 */
void mem_release_idle(void);

#endif
