/*
 * systems.c: the struct bsys implementations run in-process: syncd
 * (libsyncclient), the floor (raw socket client of floor_server.c, with the
 * same leader/follower reading as libsyncclient so threads can share one
 * connection), and the physical limits: a robust process-shared pthread
 * mutex + condvar in shared memory, and POSIX named semaphores.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "syncbench.h"
#include "syncclient.h"

/* ---- syncd ------------------------------------------------------------- */

enum { K_LOCK, K_SEM, K_EVENT };

struct sd_obj {
    int kind;
    void *h;
};

static int sd_connect(const char *ep, bconn **out)
{
    return sync_connect(ep, (sync_client **)out);
}

static void sd_disconnect(bconn *c)
{
    sync_disconnect((sync_client *)c);
}

static int sd_wrap(int rv, int kind, void *h, bobj **out)
{
    struct sd_obj *o;

    if (rv != 0)
        return rv;
    if ((o = malloc(sizeof(*o))) == NULL)
        return -1;
    o->kind = kind;
    o->h = h;
    *out = (bobj *)o;
    return 0;
}

static int sd_lock_open(bconn *c, const char *name, bobj **out)
{
    sync_lock *l = NULL;
    int rv = sync_lock_open((sync_client *)c, name, &l);

    return sd_wrap(rv, K_LOCK, l, out);
}

static int sd_sem_open(bconn *c, const char *name, unsigned v, bobj **out)
{
    sync_sem *s = NULL;
    int rv = sync_sem_open((sync_client *)c, name, v, &s);

    return sd_wrap(rv, K_SEM, s, out);
}

static int sd_event_open(bconn *c, const char *name, bobj **out)
{
    sync_event *e = NULL;
    int rv = sync_event_open((sync_client *)c, name, &e);

    return sd_wrap(rv, K_EVENT, e, out);
}

static int sd_acquire(bobj *ob)
{
    struct sd_obj *o = (struct sd_obj *)ob;

    return o->kind == K_LOCK ? sync_lock_acquire(o->h, true, -1)
                             : sync_sem_acquire(o->h, true, -1);
}

static int sd_release(bobj *ob)
{
    struct sd_obj *o = (struct sd_obj *)ob;

    return o->kind == K_LOCK ? sync_lock_release(o->h)
                             : sync_sem_release(o->h, 1);
}

static int sd_wait(bobj *ob)
{
    return sync_event_wait(((struct sd_obj *)ob)->h, -1);
}

static int sd_set(bobj *ob, unsigned n)
{
    (void)n;
    return sync_event_set(((struct sd_obj *)ob)->h);
}

static int sd_clear(bobj *ob)
{
    return sync_event_clear(((struct sd_obj *)ob)->h);
}

static void sd_close(bobj *ob)
{
    struct sd_obj *o = (struct sd_obj *)ob;

    if (o->kind == K_LOCK)
        sync_lock_close(o->h);
    else if (o->kind == K_SEM)
        sync_sem_close(o->h);
    else
        sync_event_close(o->h);
    free(o);
}

static int sd_open_close(bconn *c, const char *name)
{
    sync_lock *l;
    int rv = sync_lock_open((sync_client *)c, name, &l);

    if (rv == 0)
        sync_lock_close(l);
    return rv;
}

const struct bsys bsys_syncd = {
    SYS_SYNCD, "syncd", sd_connect, sd_disconnect, sd_lock_open,
    sd_sem_open, sd_event_open, sd_acquire, sd_release, sd_wait, sd_set,
    sd_clear, sd_close, sd_open_close, true,
};

/* ---- floor client ------------------------------------------------------ */

struct fl_call {
    uint64_t id;
    bool done;
    int32_t code;
    pthread_cond_t cv;
    struct fl_call *next;
};

struct fl_conn {
    int fd;
    pthread_mutex_t mu, write_mu;
    uint64_t next_id;
    bool reading;
    struct fl_call *calls;
    uint8_t buf[16 * 1024];
    size_t len;
};

struct fl_obj {
    struct fl_conn *c;
    uint32_t slot;
};

static int fl_connect(const char *ep, bconn **out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct fl_conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return -1;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ep);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        return -1;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->write_mu, NULL);
    *out = (bconn *)c;
    return 0;
}

static void fl_disconnect(bconn *cb)
{
    struct fl_conn *c = (struct fl_conn *)cb;

    close(c->fd);
    free(c);
}

/* Hand each whole reply in c->buf to its call; c->mu held. */
static void fl_dispatch(struct fl_conn *c)
{
    size_t off = 0;

    while (c->len - off >= sizeof(struct floor_rep)) {
        struct floor_rep r;
        struct fl_call *k;

        memcpy(&r, c->buf + off, sizeof(r));
        off += sizeof(r);
        for (k = c->calls; k != NULL; k = k->next) {
            if (k->id == r.id) {
                k->done = true;
                k->code = r.code;
                pthread_cond_signal(&k->cv);
                break;
            }
        }
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
}

static int fl_call(struct fl_conn *c, uint32_t op, uint32_t slot,
                   uint32_t arg)
{
    struct fl_call k = {0}, **pp;
    struct floor_req q = {.op = op, .obj = slot, .arg = arg};
    int rv = 0;

    pthread_cond_init(&k.cv, NULL);
    pthread_mutex_lock(&c->mu);
    k.id = q.id = ++c->next_id;
    k.next = c->calls;
    c->calls = &k;
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_lock(&c->write_mu);
    if (write(c->fd, &q, sizeof(q)) != (ssize_t)sizeof(q))
        rv = -1;
    pthread_mutex_unlock(&c->write_mu);
    pthread_mutex_lock(&c->mu);
    while (rv == 0 && !k.done) {
        if (c->reading) {
            pthread_cond_wait(&k.cv, &c->mu);
            continue;
        }
        c->reading = true; /* leader: read until our reply came */
        while (!k.done) {
            ssize_t n;

            pthread_mutex_unlock(&c->mu);
            n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
            pthread_mutex_lock(&c->mu);
            if (n <= 0) {
                rv = -1;
                break;
            }
            c->len += (size_t)n;
            fl_dispatch(c);
        }
        c->reading = false;
        for (struct fl_call *o = c->calls; o != NULL; o = o->next)
            if (o != &k && !o->done) { /* hand the reading over */
                pthread_cond_signal(&o->cv);
                break;
            }
    }
    for (pp = &c->calls; *pp != &k; pp = &(*pp)->next)
        ;
    *pp = k.next;
    pthread_mutex_unlock(&c->mu);
    pthread_cond_destroy(&k.cv);
    return rv == 0 ? k.code : rv;
}

static int fl_open(bconn *cb, const char *name, uint32_t type, unsigned v,
                   bobj **out)
{
    struct fl_obj *o = malloc(sizeof(*o));
    int rv;

    if (o == NULL)
        return -1;
    o->c = (struct fl_conn *)cb;
    o->slot = floor_name_slot(name);
    rv = fl_call(o->c, FLOOR_OPEN, o->slot, type << 24 | (v & 0xffffffu));
    if (rv != 0) {
        free(o);
        return rv;
    }
    *out = (bobj *)o;
    return 0;
}

static int fl_lock_open(bconn *c, const char *name, bobj **out)
{
    return fl_open(c, name, FLOOR_T_LOCK, 1, out);
}

static int fl_sem_open(bconn *c, const char *name, unsigned v, bobj **out)
{
    return fl_open(c, name, FLOOR_T_SEM, v, out);
}

static int fl_event_open(bconn *c, const char *name, bobj **out)
{
    return fl_open(c, name, FLOOR_T_EVENT, 0, out);
}

#define FL_OP(fn, op)                                                      \
    static int fn(bobj *ob)                                                \
    {                                                                      \
        struct fl_obj *o = (struct fl_obj *)ob;                            \
        return fl_call(o->c, op, o->slot, 0);                              \
    }
FL_OP(fl_acquire, FLOOR_ACQUIRE)
FL_OP(fl_release, FLOOR_RELEASE)
FL_OP(fl_wait, FLOOR_EV_WAIT)

static int fl_set(bobj *ob, unsigned n)
{
    struct fl_obj *o = (struct fl_obj *)ob;

    (void)n;
    return fl_call(o->c, FLOOR_EV_SET, o->slot, 0);
}

static int fl_clear(bobj *ob)
{
    struct fl_obj *o = (struct fl_obj *)ob;

    return fl_call(o->c, FLOOR_EV_CLEAR, o->slot, 0);
}

static void fl_close(bobj *ob)
{
    struct fl_obj *o = (struct fl_obj *)ob;

    fl_call(o->c, FLOOR_CLOSE, o->slot, 0);
    free(o);
}

static int fl_open_close(bconn *c, const char *name)
{
    bobj *o;
    int rv = fl_lock_open(c, name, &o);

    if (rv == 0)
        fl_close(o);
    return rv;
}

const struct bsys bsys_floor = {
    SYS_FLOOR, "floor", fl_connect, fl_disconnect, fl_lock_open,
    fl_sem_open, fl_event_open, fl_acquire, fl_release, fl_wait, fl_set,
    fl_clear, fl_close, fl_open_close, true,
};

/* ---- physical limit: robust pshared pthread objects in shm ------------- */

#define SHM_SLOTS 512

struct shm_slot {
    char name[64];
    int kind;
    unsigned value; /* sem permits / event flag */
    pthread_mutex_t mu; /* robust, pshared: the Lock itself, or guards value */
    pthread_cond_t cv;
};

struct shm_table {
    pthread_mutex_t mu; /* guards names */
    struct shm_slot slot[SHM_SLOTS];
};

static struct shm_table *shm_tab;

static void robust_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;

    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

int shm_sys_init(void)
{
    pthread_condattr_t ca;
    int i;

    shm_tab = shared_alloc(sizeof(*shm_tab));
    robust_init(&shm_tab->mu);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    for (i = 0; i < SHM_SLOTS; i++) {
        robust_init(&shm_tab->slot[i].mu);
        pthread_cond_init(&shm_tab->slot[i].cv, &ca);
    }
    pthread_condattr_destroy(&ca);
    return 0;
}

static int robust_lock(pthread_mutex_t *m)
{
    int rv = pthread_mutex_lock(m);

    if (rv == EOWNERDEAD) {
        pthread_mutex_consistent(m);
        rv = 0;
    }
    return -rv;
}

static int shm_connect(const char *ep, bconn **out)
{
    (void)ep;
    *out = (bconn *)shm_tab;
    return 0;
}

static void shm_disconnect(bconn *c)
{
    (void)c;
}

static int shm_open_obj(const char *name, int kind, unsigned v, bobj **out)
{
    int i, found = -1;

    robust_lock(&shm_tab->mu);
    for (i = 0; i < SHM_SLOTS && shm_tab->slot[i].name[0]; i++)
        if (strcmp(shm_tab->slot[i].name, name) == 0) {
            found = i;
            break;
        }
    if (found < 0 && i < SHM_SLOTS) {
        struct shm_slot *s = &shm_tab->slot[i];

        snprintf(s->name, sizeof(s->name), "%s", name);
        s->kind = kind;
        s->value = v;
        found = i;
    }
    pthread_mutex_unlock(&shm_tab->mu);
    if (found < 0)
        return -1;
    *out = (bobj *)&shm_tab->slot[found];
    return 0;
}

static int shm_lock_open(bconn *c, const char *name, bobj **out)
{
    (void)c;
    return shm_open_obj(name, K_LOCK, 1, out);
}

static int shm_sem_open(bconn *c, const char *name, unsigned v, bobj **out)
{
    (void)c;
    return shm_open_obj(name, K_SEM, v, out);
}

static int shm_event_open(bconn *c, const char *name, bobj **out)
{
    (void)c;
    return shm_open_obj(name, K_EVENT, 0, out);
}

static int shm_acquire(bobj *ob)
{
    struct shm_slot *s = (struct shm_slot *)ob;
    int rv = robust_lock(&s->mu);

    if (rv != 0 || s->kind == K_LOCK) /* a Lock is the mutex itself */
        return rv;
    while (s->value == 0)
        pthread_cond_wait(&s->cv, &s->mu);
    s->value--;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int shm_release(bobj *ob)
{
    struct shm_slot *s = (struct shm_slot *)ob;

    if (s->kind != K_LOCK) {
        robust_lock(&s->mu);
        s->value++;
        pthread_cond_signal(&s->cv);
    }
    return -pthread_mutex_unlock(&s->mu);
}

static int shm_wait(bobj *ob)
{
    struct shm_slot *s = (struct shm_slot *)ob;

    robust_lock(&s->mu);
    while (!s->value)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int shm_set(bobj *ob, unsigned n)
{
    struct shm_slot *s = (struct shm_slot *)ob;

    (void)n;
    robust_lock(&s->mu);
    s->value = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int shm_clear(bobj *ob)
{
    struct shm_slot *s = (struct shm_slot *)ob;

    robust_lock(&s->mu);
    s->value = 0;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void shm_close(bobj *ob)
{
    (void)ob;
}

/* W5 for the shm system: a kernel named shared-memory object. */
static int shm_open_close(bconn *c, const char *name)
{
    char path[96];
    int fd;
    void *p;

    (void)c;
    snprintf(path, sizeof(path), "/syncbench-%d-%s", (int)bench_main_pid, name);
    for (char *q = path + 1; *q; q++)
        if (*q == '/')
            *q = '_';
    if ((fd = shm_open(path, O_RDWR | O_CREAT, 0600)) < 0)
        return -errno;
    if (ftruncate(fd, 4096) < 0 ||
        (p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) ==
            MAP_FAILED) {
        close(fd);
        return -1;
    }
    munmap(p, 4096);
    close(fd);
    return 0;
}

const struct bsys bsys_shm = {
    SYS_SHM, "shm-pthread", shm_connect, shm_disconnect, shm_lock_open,
    shm_sem_open, shm_event_open, shm_acquire, shm_release, shm_wait,
    shm_set, shm_clear, shm_close, shm_open_close, true,
};

/* ---- physical limit: POSIX named semaphores ---------------------------- */

static void psem_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "/syncbench-%d-%s", (int)bench_main_pid, name);
    for (char *q = buf + 1; *q; q++)
        if (*q == '/')
            *q = '_';
}

static int psem_connect(const char *ep, bconn **out)
{
    (void)ep;
    *out = (bconn *)&bench_main_pid;
    return 0;
}

static int psem_open_v(const char *name, unsigned v, bobj **out)
{
    char path[96];
    sem_t *s;

    psem_path(path, sizeof(path), name);
    if ((s = sem_open(path, O_CREAT, 0600, v)) == SEM_FAILED)
        return -errno;
    *out = (bobj *)s;
    return 0;
}

static int psem_lock_open(bconn *c, const char *name, bobj **out)
{
    (void)c;
    return psem_open_v(name, 1, out);
}

static int psem_sem_open(bconn *c, const char *name, unsigned v, bobj **out)
{
    (void)c;
    return psem_open_v(name, v, out);
}

static int psem_event_open(bconn *c, const char *name, bobj **out)
{
    (void)c;
    return psem_open_v(name, 0, out);
}

static int psem_acquire(bobj *o)
{
    while (sem_wait((sem_t *)o) != 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

static int psem_release(bobj *o)
{
    return sem_post((sem_t *)o) == 0 ? 0 : -errno;
}

/* A broadcast emulated by one post per waiter (the hint). */
static int psem_set(bobj *o, unsigned n)
{
    while (n-- > 0)
        if (sem_post((sem_t *)o) != 0)
            return -errno;
    return 0;
}

/* Every post of a set was consumed by a waiter: already clear. */
static int psem_clear(bobj *o)
{
    (void)o;
    return 0;
}

static void psem_close(bobj *o)
{
    sem_close((sem_t *)o);
}

static int psem_open_close(bconn *c, const char *name)
{
    bobj *o = NULL;
    int rv = psem_lock_open(c, name, &o);

    if (rv == 0)
        psem_close(o);
    return rv;
}

static void psem_disconnect(bconn *c)
{
    (void)c;
}

const struct bsys bsys_psem = {
    SYS_PSEM, "posix-sem", psem_connect, psem_disconnect, psem_lock_open,
    psem_sem_open, psem_event_open, psem_acquire, psem_release,
    psem_acquire, psem_set, psem_clear, psem_close, psem_open_close, true,
};

void psem_sys_cleanup(void)
{
    char prefix[48], path[300];
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    int n;

    if (d == NULL)
        return;
    n = snprintf(prefix, sizeof(prefix), "syncbench-%d-", (int)bench_main_pid);
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;

        if (strncmp(nm, "sem.", 4) == 0 && strncmp(nm + 4, prefix, n) == 0) {
            snprintf(path, sizeof(path), "/%s", nm + 4);
            sem_unlink(path);
        } else if (strncmp(nm, prefix, n) == 0) {
            snprintf(path, sizeof(path), "/%s", nm);
            shm_unlink(path);
        }
    }
    closedir(d);
}
