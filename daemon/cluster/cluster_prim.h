/*
 * cluster_prim.h: the loop side of Semaphore, Barrier and Condition on
 * cluster names, one file each; cluster_prim.c routes to them.
 */
#ifndef SYNCD_CLUSTER_PRIM_H
#define SYNCD_CLUSTER_PRIM_H

#include "cluster/cluster_internal.h"

/* cluster_sem.c */
bool cluster_sem_request(struct csess *cs, struct cobj *o,
                         const struct request *rq);
void cluster_sem_done(struct cjob *j);
/* Give back the UNDO permits of handle h (seq 0) or the one of seq. */
void cluster_sem_undo(struct csess *cs, struct cobj *o, uint32_t h,
                      uint64_t seq, int64_t lease);
void cluster_sem_run(struct cjob *j);
/* What UNDO handle h of cs holds (NULL: no such handle). */
struct cundo *cluster_sem_undo_of(struct csess *cs, uint32_t h);
/* A keepalive was answered: UNDO grants held back for it are told. */
void cluster_sem_confirmed(struct csess *cs);
/* cs's lease ended: the UNDO permits held under it are lost, and grants
 * held back are refused (their keys went with the lease). */
void cluster_sem_lost(struct csess *cs);
/* Handle h closed (reply: its held-back grants answer SYNC_EBADF) or its
 * session did (not): forget what it holds. */
void cluster_sem_forget(struct csess *cs, uint32_t h, bool reply);

/* cluster_barrier.c */
bool cluster_barrier_request(struct csess *cs, struct cobj *o,
                             const struct request *rq);
void cluster_barrier_done(struct cjob *j);
void cluster_barrier_run(struct cjob *j);
/* A handle of o closed: if the session runs its action and no handle
 * names it any more, the round breaks (as a local one does). */
void cluster_barrier_close(struct csess *cs, struct cobj *o);

/* cluster_cond.c */
bool cluster_cond_request(struct csess *cs, struct cobj *o,
                          const struct request *rq);
void cluster_cond_done(struct cjob *j);
void cluster_cond_run(struct cjob *j);
/* Open job j of a Condition: the condition and its lock. */
void cluster_cond_open_run(struct cjob *j);

/* A job of kind on o that no request waits for (answered already);
 * NULL when out of memory. */
struct cjob *cluster_prim_job_on(struct csess *cs, struct cobj *o,
                                 enum cjob_kind kind);
/* Reply REPLY_ACQUIRE with token and index (code 0). */
void cluster_prim_granted(struct cjob *j, int64_t token, int64_t index);

#endif
