/*
 * cluster_internal.h: what the cluster backend's files share.  The loop
 * thread owns every struct here; a job's worker thread touches only its
 * job's inputs, outputs and etcd ctx, then hands the job back through
 * cl->done and a uv_async (cluster_job.c).
 */
#ifndef SYNCD_CLUSTER_INTERNAL_H
#define SYNCD_CLUSTER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "cluster/cluster.h"
#include "cluster/etcd.h"
#include "cluster/etcd_loop.h"
#include "cluster/recipe_prim.h"
#include "list.h"
#include "objects/object.h"
#include "syncclient.h"
#include "wire.h"

struct cinspect;
struct request;
struct session;

enum cjob_kind { CJ_OPEN, CJ_UNLINK, CJ_ACQUIRE, CJ_RELEASE, CJ_QUERY,
                 CJ_EVENT_PUT, CJ_EVENT_WAIT, CJ_GRANT, CJ_KEEPALIVE,
                 CJ_REVOKE,
                 /* cluster_prim.c's */
                 CJ_SEM_ACQUIRE, CJ_SEM_RELEASE, CJ_SEM_UNDO,
                 CJ_BARRIER_WAIT, CJ_BARRIER_OP, CJ_COND_ENTER,
                 CJ_COND_SLEEP, CJ_COND_NOTIFY, CJ_COND_DROP,
                 /* cluster_inspect.c's */
                 CJ_INSPECT };

/* A session's view of one cluster object: its handles' target and, for a
 * Lock/RLock, what the session holds. */
/* CONFIRMING: the contender key is first in etcd, but the session's lease
 * was last renewed too long ago for the grant to be safe (the agent may
 * give the lease up before the holder is done): the grant is told once a
 * keepalive is answered. */
enum cobj_state { COBJ_FREE, COBJ_ACQUIRING, COBJ_CONFIRMING, COBJ_HELD,
                  COBJ_RELEASING, COBJ_LOST };

struct cobj {
    struct list_node link;       /* in csess->objs */
    char name[SYNC_NAME_MAX + 1];
    enum object_type type;
    uint32_t refs;               /* handles + jobs that point here */
    enum cobj_state st;
    uint64_t thread;             /* RLock holder thread */
    uint32_t depth;              /* RLock levels (1 for a Lock) */
    int64_t token, lease;        /* held contender key: create revision */
    struct recipe_grant grant;   /* what its acquisition found */
    uint64_t seq;                /*   ... and its q/LEASE-SEQ name */
    struct list_node parked;     /* acquires waiting for this session's
                                    own turn (struct cjob.link) */
    uint64_t confirm_id;         /* CONFIRMING: the acquire to answer */
    int confirm_code;            /*   ... its code (a condition wait's) */
    struct cjob *confirm_job;    /*   ... that acquire as a new job, to
                                    seek again under a new lease if this
                                    one ends first (NULL: a Condition's,
                                    or out of memory) */
    /* Semaphore, Barrier, Condition (cluster_prim.c) */
    int64_t inc;                 /* the object's incarnation in etcd */
    uint32_t param;              /* initial value, parties */
    bool undo;                   /* a Semaphore opened with SYNC_SEM_UNDO */
    struct cobj *lock;           /* a Condition's lock (a reference) */
    struct recipe_barrier_act act; /* a Barrier's action this session was
                                      told to run (rev 0: none) */
};

enum lease_state { LEASE_NONE, LEASE_GRANTING, LEASE_LIVE };

/* What an UNDO handle of a Semaphore holds, as its client was told: held
 * under the live lease; lost with a lease given up (their keys went with
 * it), each one's release answered SYNC_ELOST without touching etcd. */
struct cundo {
    uint32_t held, lost;
};

struct csess {
    struct list_node link;       /* in cluster->sessions */
    struct cluster *cl;          /* borrowed */
    struct session *s;           /* borrowed; NULL once it closed */
    struct list_node objs;       /* struct cobj, owned */
    struct cobj **handles;       /* owned array; [i] is handle BIT|(i+1) */
    struct cundo *undo;          /* owned array beside handles */
    struct list_node sem_confirming; /* UNDO grants held back for a
                                        keepalive (cluster_sem.c) */
    uint32_t cap, used;
    struct list_node jobs;       /* running jobs (struct cjob.slink) */
    struct list_node lease_wait; /* jobs waiting for the lease */
    enum lease_state lease_state;
    int64_t lease;
    int64_t lease_ok_ms;         /* when the last good keepalive was sent */
    int64_t ka_sent_ms;
    bool ka_inflight;
    uint64_t seq;                /* contender keys made */
};

struct cjob {
    struct list_node link;       /* cl->done, cobj->parked, lease_wait */
    struct list_node slink;      /* csess->jobs while running */
    struct cluster *cl;          /* borrowed */
    struct csess *cs;            /* borrowed; NULL: no session (revoke) */
    struct cobj *obj;            /* a reference (cobj.refs), or NULL */
    enum cjob_kind kind;
    enum wire_op op;
    uint64_t req_id, thread;
    uint32_t handle;
    bool answered;               /* replied already (cancel, close) */
    bool cancel_as_timeout;      /* OP_CANCEL: answer "timed out" */
    bool requeue;                /* acquire: cancelled because its lease
                                    ended; sought again under a new one */
    uint32_t requeues;           /* acquire: times sought again so */
    int64_t drop_lease;          /* acquire sought again: the contender */
    uint64_t drop_seq;           /*   key LEASE-SEQ of the last try, whose
                                    mark must go first (else it reads as a
                                    holder that died); 0: none */
    struct etcd_ctx ctx;
    int64_t started_ms;          /* made, then started */
    /* inputs */
    char name[SYNC_NAME_MAX + 1];
    int type;
    uint32_t param;
    bool flag, may_wait, existing;
    int64_t deadline_ms, lease, token;
    uint64_t seq;
    char info[192];
    int64_t inc;                 /* cobj.inc (open: the output) */
    uint32_t depth;              /* cond wait: RLock levels to restore */
    int cond_rv;                 /* cond wait: how the wait ended */
    uint64_t lock_seq;           /* cond: the held contender key's seq */
    uint32_t n;                  /* sem release: permits; notify: count */
    uint32_t n_lost;             /* sem release: of them, lost with a
                                    lease (answered SYNC_ELOST) */
    bool adopt;                  /* acquire: the contender key LEASE-SEQ
                                    is queued already (a notify did) */
    int64_t myrev;               /* acquire: queued by the loop's txn at
                                    this create revision (0: not yet) */
    char lock_name[SYNC_NAME_MAX + 1]; /* a Condition's lock */
    /* barrier wait: the action to run (output); report: its input */
    struct recipe_barrier_act act;
    /* cond sleep: where the notify queued our key (output); the acquire
     * that adopts it: its input */
    struct recipe_cond_ahead ahead;
    /* outputs */
    int rv;
    struct recipe_grant grant;
    bool created;
    int64_t value;
    uint32_t waiting;
    struct cinspect *insp;       /* CJ_INSPECT: its request and answer */
};

struct cluster {
    struct server *srv;          /* borrowed (owner: main) */
    struct etcd *etcd;           /* owned */
    struct etcd_loop *eloop;     /* owned; NULL: every job on a worker */
    unsigned ttl_s;
    uv_async_t async;            /* jobs done */
    uv_timer_t tick;             /* keepalives, lease checks, parked
                                    deadlines */
    int closing;                 /* close callbacks still to come */
    pthread_mutex_t mu;          /* guards done, queue, queued, idle,
                                    workers */
    struct list_node done;       /* jobs back from their worker */
    struct list_node queue;      /* jobs no worker took yet */
    pthread_cond_t work_cv;      /* a job was queued (or pool_stop) */
    pthread_cond_t exit_cv;      /* a worker ended */
    uint32_t idle, workers;
    uint32_t queued;             /* jobs on queue */
    bool pool_stop;
    struct list_node sessions;   /* struct csess */
    uint32_t running;            /* worker threads not yet handed back */
    bool stopping, closed;
    void (*on_stopped)(void *arg);
    void *stopped_arg;
    char host[64];
    struct cluster_stats stats;
};

/* A new job of kind for cs (may be NULL); NULL when out of memory. */
struct cjob *cluster_job_new(struct cluster *cl, struct csess *cs,
                             enum cjob_kind kind);
/* Run j (on the loop if cluster_fast_start takes it, else on a worker
 * thread of its own); cluster_job_done gets it back on the loop. */
void cluster_job_start(struct cjob *j);
/* Hand started job j to a worker thread. */
void cluster_job_queue(struct cjob *j);
/* Started job j's work is over: account for it, cluster_job_done. */
void cluster_job_finish(struct cjob *j);
/* cluster_fast.c: serve j's deciding etcd call on the loop (true), going
 * on with cluster_job_finish or cluster_job_queue. */
bool cluster_fast_start(struct cjob *j);
/* Free a job that is no longer on any list. */
void cluster_job_free(struct cjob *j);
/* A job is back on the loop (cluster.c). */
void cluster_job_done(struct cjob *j);
/* Once stopping and no worker runs: close the loop handles (cluster.c). */
void cluster_maybe_stopped(struct cluster *cl);
/* End the (idle) workers and free the pool's locks. */
void cluster_jobs_fini(struct cluster *cl);
/* Start the async handle; 0 or SYNC_EINTERNAL. */
int cluster_jobs_init(struct cluster *cl);

/* cluster_lock.c: acquire/release/close for Lock and RLock. */
void cluster_lock_acquire(struct csess *cs, struct cjob *j);
void cluster_lock_release(struct csess *cs, struct cobj *o,
                          const struct request *rq);
void cluster_lock_done(struct cjob *j);
/* The session's holds are void: its lease ended. */
void cluster_lock_lost(struct csess *cs);
/* A keepalive was answered: grants held back for it are told. */
void cluster_lock_confirmed(struct csess *cs);
/* o's held-back grant is settled otherwise: free its acquire's copy. */
void cluster_confirm_forget(struct cobj *o);
/* The last handle of o closed: let go of what the session holds. */
void cluster_lock_drop(struct csess *cs, struct cobj *o);
/* Start j once the session has a live lease. */
void cluster_with_lease(struct csess *cs, struct cjob *j);
/* How long past its deadline a wait may go before the tick ends it: a
 * recipe's own watch ends at the deadline and answers in a few ms; only
 * a call that etcd does not answer (an election, a member gone) runs on
 * this long. */
#define CLUSTER_LATE_MS 200
/* How long a try (timeout 0) of a Lock, Semaphore or Event may wait for
 * etcd before it answers "timed out". */
#define CLUSTER_TRY_MS 1000
/* When the tick ends wait j unanswered by etcd (the two above; from the
 * job's making for a try), -1: never. */
int64_t cluster_job_due_ms(const struct cjob *j);
/* Acquires waiting for a lease whose deadline passed answer "timed out"
 * (a lease grant that etcd does not answer takes up to 6 s). */
void cluster_lease_wait_expired(struct csess *cs, int64_t now);
/*
 * Waits the end of a lease need not fail (cluster.c).  An acquire that
 * holds nothing yet and waits under the session's lease (a Lock's
 * contender key, an UNDO permit's waiter key) loses its key with the
 * lease, but nothing it was told: it is sought again under a new lease,
 * at the queue's tail.
 * cluster_requeue_left: whether request j may still be sought again (its
 * client there, not answered, time and tries left).
 * cluster_requeue_due: whether acquire j, done with rv, is such a wait
 * (granted under a lease since given up, stopped when it was given up,
 * or SYNC_ENOENT: etcd ended it) and may be sought again.
 * cluster_job_again: a new job for j's request (inputs copied; j, freed
 * once done, counts as answered), NULL when out of memory; when j's lease
 * is still the live one, etcd ended it (its key is gone): it is given up,
 * gone saying why.
 * cluster_job_clone: j's request as a new job (not started; j unchanged).
 */
bool cluster_requeue_left(const struct cjob *j);
bool cluster_requeue_due(const struct cjob *j, int rv);
struct cjob *cluster_job_again(struct cjob *j, const char *gone);
struct cjob *cluster_job_clone(const struct cjob *j);
/* The log line of a wait sought again. */
void cluster_requeue_log(const struct cjob *j);
/* Enough for any real run of lease losses within one wait; a bound, so
 * that a lease etcd keeps refusing cannot spin the agent. */
#define CLUSTER_REQUEUE_MAX 16
/* Whether j's lease is its session's live one. */
bool cluster_job_lease_live(const struct cjob *j);
/* Whether a grant under cs's lease may be told now (renewed recently). */
bool cluster_lease_fresh(const struct csess *cs);
/* Reply REPLY_ACQUIRE to request id of cs. */
void cluster_send_grant_to(struct csess *cs, uint64_t id, int code,
                           int64_t token, bool died);

/* The session's holds of o end (cluster_lock.c): its parked acquires'
 * turn. */
void cluster_unpark(struct csess *cs, struct cobj *o);

/* cluster_cond.c: whether acquire j, adopting a key a notify queued, must
 * let another thread of the session go first: a key of the session queued
 * before j's belongs to a condition wait whose wake-up has not reached
 * this agent yet. */
bool cluster_cond_ahead_waking(const struct csess *cs, const struct cjob *j);
/* Delete contender key LEASE-SEQ of lock lk, which no acquire will
 * adopt (a job of its own). */
void cluster_cond_forget(struct csess *cs, struct cobj *lk, int64_t lease,
                         uint64_t seq);

/* cluster_prim.c: Semaphore, Barrier and Condition. */
/* Refuse an open the cluster cannot serve (answered: true). */
bool cluster_prim_open_refused(struct session *s, const struct request *rq);
/* Fill an open job's inputs from rq. */
void cluster_prim_open_job(struct cjob *j, const struct request *rq);
/* A new cobj from open job j; 0 or SYNC_ENOMEM. */
int cluster_prim_init(struct csess *cs, struct cobj *o, const struct cjob *j);
/* rq on o is a Semaphore/Barrier/Condition request: served (true). */
bool cluster_prim_request(struct session *s, struct csess *cs,
                          struct cobj *o, const struct request *rq);
/* Copy what a job on o needs to know about o. */
void cluster_prim_job(struct cjob *j, const struct cobj *o);
/* Run j's etcd work if it is this file's (true). */
bool cluster_prim_run(struct cjob *j);
/* Finish j on the loop if it is this file's (true). */
bool cluster_prim_done(struct cjob *j);
/* Handle h of o closes: UNDO permits go back; a Condition's lock is
 * dropped when no handle names it any more. */
void cluster_prim_close(struct csess *cs, struct cobj *o, uint32_t h);
/* Whether a handle of cs names o (directly or as a Condition's lock). */
bool cluster_cobj_in_use(const struct csess *cs, const struct cobj *o);
/* Whether an OP_CANCEL may end j's wait. */
bool cluster_job_cancellable(const struct cjob *j);

/* A job for request rq on o (answers SYNC_ENOMEM itself: NULL). */
struct cjob *cluster_job_for(struct csess *cs, struct cobj *o,
                             const struct request *rq, enum cjob_kind kind);
/* j->info: who holds or waits, as etcd keeps it in the key's value. */
void cluster_holder_info(struct csess *cs, struct cjob *j);

/* cluster_handle.c */
/* The session's object for name (type, incarnation, UNDO), made when
 * first named; NULL when out of memory. */
struct cobj *cluster_cobj(struct csess *cs, const char *name,
                          enum object_type type, int64_t inc, bool undo);
void cluster_send(struct session *s, uint64_t id, int code, const char *why);
struct csess *cluster_csess(struct session *s);
void cluster_csess_maybe_free(struct csess *cs);
struct cobj *cluster_handle(struct csess *cs, uint32_t h);
void cluster_open(struct session *s, struct csess *cs,
                  const struct request *rq);
void cluster_close(struct session *s, struct csess *cs,
                   const struct request *rq);
void cluster_on_handle(struct session *s, struct csess *cs,
                       const struct request *rq);
/* cluster.c: the lease ended under cs (expired, or etcd out of reach
 * for longer than is safe). */
void cluster_lease_lost(struct csess *cs, const char *why);
/* Send cs's keepalive now, unless one is in flight. */
void cluster_keepalive_start(struct csess *cs, int64_t now);

/* cluster_inspect.c: read etcd for ls/show (worker), answer (loop). */
void cluster_inspect_run(struct cjob *j);
void cluster_inspect_done(struct cjob *j);

/* Reply helpers. */
void cluster_reply(struct cjob *j, int code, const char *why);
void cluster_cobj_rele(struct csess *cs, struct cobj *o);

#endif
