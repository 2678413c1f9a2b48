/*
 * chaos_worker.h: what the files of a killable worker share (one worker
 * per process: the main thread runs the random operations, a helper thread
 * runs Event and Barrier calls concurrently over the same connection).
 */
#ifndef SYNCD_TEST_CHAOS_WORKER_H
#define SYNCD_TEST_CHAOS_WORKER_H

#include "chaos.h"

struct worker {
    int slot;
    unsigned me; /* incarnation: the witness value */
    sync_client *c;
    sync_lock *lk[CH_NLOCKS];
    sync_rlock *rl[CH_NRLOCKS];
    sync_sem *sem[CH_NSEMS];
    sync_event *ev, *once;
    sync_cond *cv;
    sync_barrier *bar;
    int depth[CH_NLOCKABLE]; /* RLock levels held (1 for a Lock) */
    int nheld;
};

extern struct worker wk;

/* SYNC_ETIMEDOUT allowed (0-terminated list for ch_check_call). */
extern const int ch_ok_timeout[];

/* A setup call that must succeed; exits the worker (a violation) if not. */
void ch_must(int rc, const char *what);
/* Open / close every handle of wk (close after a disconnect only frees). */
void ch_open_all(void);
void ch_close_all(void);

/* chaos_worker_ops.c: one random operation each. */
void ch_op_event(void);
void ch_op_cond(void);
void ch_op_barrier(void);

/* chaos_worker_ops.c: the helper thread.  pause() waits until no helper
 * call is in flight and keeps it so until resume() (around a disconnect,
 * which closes the handles the helper uses). */
void ch_helper_start(void);
void ch_helper_stop(void);
void ch_helper_pause(void);
void ch_helper_resume(void);

#endif
