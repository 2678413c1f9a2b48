/*
 * lockable.c: syncd._syncd.Lock, RLock and Condition.  A Lock belongs to
 * the process (any thread may release it); an RLock to a thread.  Who
 * owns what, and how deep, is the daemon's answer (sync_rlock_depth,
 * sync_cond_depth): a release, wait or notify by a thread that does not
 * own the lock is refused there (SYNC_EPERM).  A Condition made on a Lock/RLock
 * acquires through that object; one made without a lock uses its own.
 */
#include "syncd_py.h"

#include <limits.h>
#include <pythread.h>

#define SPY_PYERR INT_MIN /* a Python exception is set */

static const char *const spy_rlock_unowned = "cannot release un-acquired lock";

/* The object whose lock a Lock/RLock/Condition call works on. */
static struct spy_obj *lk_target(struct spy_obj *o)
{
    return o->kind == SPY_COND && o->lock != NULL ? o->lock : o;
}

/* Whether the daemon knows t's owning thread (RLock, and a Condition whose
 * lock is an RLock); a plain Lock belongs to the connection, not a thread. */
static bool lk_owner_known(const struct spy_obj *t)
{
    return t->kind != SPY_LOCK;
}

static int lk_release_raw(struct spy_obj *o);

/* Release t while an exception is pending, keeping that exception. */
static void lk_release_keeping_error(struct spy_obj *t)
{
    PyObject *type, *value, *tb;

    PyErr_Fetch(&type, &value, &tb);
    if (lk_release_raw(t) != 0)
        PyErr_WriteUnraisable((PyObject *)t);
    PyErr_Restore(type, value, tb);
}

static int lk_acquire_raw(struct spy_obj *o, bool blocking, double timeout)
{
    struct spy_obj *t = lk_target(o);
    void *h = spy_handle(t);
    struct spy_wait w;
    int rv = SYNC_EINVAL;

    if (h == NULL)
        return SPY_PYERR;
    /* A lock lent to this process is taken with one CAS: no message, no
     * wait, so no reason to give up the GIL (a release and a re-take of
     * it cost more than the whole CAS). */
    if ((t->kind == SPY_LOCK && sync_lock_acquire_local(h) == 0) ||
        (t->kind == SPY_RLOCK && sync_rlock_acquire_local(h) == 0))
        return 0;
    switch (t->kind) {
    case SPY_LOCK:
        SPY_WAIT(w, rv, sync_lock_acquire(h, blocking, timeout));
        break;
    case SPY_RLOCK:
        SPY_WAIT(w, rv, sync_rlock_acquire(h, blocking, timeout));
        break;
    case SPY_COND:
        SPY_WAIT(w, rv, sync_cond_acquire(h, blocking, timeout));
        break;
    default:
        w.raised = false;
        break;
    }
    if (w.raised) {
        /* Granted before the cancel arrived: nobody may be left holding
         * a lock no code knows about, so give it back first. */
        if (rv == 0)
            lk_release_keeping_error(t);
        return SPY_PYERR;
    }
    return rv;
}

/* 0, or -1 with an exception. */
static int lk_release_raw(struct spy_obj *o)
{
    struct spy_obj *t = lk_target(o);
    void *h;
    int rv = SYNC_EINVAL;

    if ((h = spy_handle(t)) == NULL)
        return -1;
    if ((t->kind == SPY_LOCK && sync_lock_release_local(h) == 0) ||
        (t->kind == SPY_RLOCK && sync_rlock_release_local(h) == 0))
        return 0;
    switch (t->kind) {
    case SPY_LOCK: SPY_BLOCKING(rv, sync_lock_release(h)); break;
    case SPY_RLOCK: SPY_BLOCKING(rv, sync_rlock_release(h)); break;
    case SPY_COND: SPY_BLOCKING(rv, sync_cond_release(h)); break;
    default: break;
    }
    if (rv == 0)
        return 0;
    spy_raise(rv, t, lk_owner_known(t) ? spy_rlock_unowned : "release unlocked lock");
    return -1;
}

static PyObject *lk_result(struct spy_obj *o, int rv)
{
    if (rv == 0)
        Py_RETURN_TRUE;
    if (rv == SYNC_ETIMEDOUT)
        Py_RETURN_FALSE;
    if (rv == SPY_PYERR)
        return NULL;
    return spy_raise(rv, lk_target(o), NULL);
}

static PyObject *lk_acquire(PyObject *self, PyObject *const *args,
                            Py_ssize_t nargs, PyObject *kwnames)
{
    bool blocking;
    double timeout;

    if (spy_parse_lock_args(args, nargs, kwnames, &blocking, &timeout) != 0)
        return NULL;
    return lk_result((struct spy_obj *)self,
                     lk_acquire_raw((struct spy_obj *)self, blocking, timeout));
}

static PyObject *lk_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    return lk_result((struct spy_obj *)self,
                     lk_acquire_raw((struct spy_obj *)self, true, -1));
}

static PyObject *lk_release(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (lk_release_raw((struct spy_obj *)self) != 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *lk_exit(PyObject *self, PyObject *const *args,
                         Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    return lk_release(self, NULL);
}

static PyObject *lk_locked(PyObject *self, PyObject *unused)
{
    struct spy_obj *t = lk_target((struct spy_obj *)self);
    void *h = spy_handle(t);
    int rv = SYNC_EINVAL;

    (void)unused;
    if (h == NULL)
        return NULL;
    switch (t->kind) {
    case SPY_LOCK: SPY_BLOCKING(rv, sync_lock_locked(h)); break;
    case SPY_RLOCK: SPY_BLOCKING(rv, sync_rlock_locked(h)); break;
    case SPY_COND: SPY_BLOCKING(rv, sync_cond_locked(h)); break;
    default: break;
    }
    if (rv < 0)
        return spy_raise(rv, t, NULL);
    return PyBool_FromLong(rv);
}

/* The calling thread's levels on t's lock (the daemon's answer), or -1
 * with an exception.  A plain Lock: 1 when this process holds it. */
static long lk_depth(struct spy_obj *t)
{
    void *h = spy_handle(t);
    int rv = SYNC_EINVAL;

    if (h == NULL)
        return -1;
    switch (t->kind) {
    case SPY_RLOCK: SPY_BLOCKING(rv, sync_rlock_depth(h)); break;
    case SPY_COND: SPY_BLOCKING(rv, sync_cond_depth(h)); break;
    default: break;
    }
    if (rv < 0) {
        spy_raise(rv, t, NULL);
        return -1;
    }
    return rv;
}

static PyObject *lk_is_owned(PyObject *self, PyObject *unused)
{
    struct spy_obj *t = lk_target((struct spy_obj *)self);
    long depth;

    (void)unused;
    if (lk_owner_known(t)) {
        if ((depth = lk_depth(t)) < 0)
            return NULL;
        return PyBool_FromLong(depth > 0);
    }
    /* threading.Condition's rule for a plain Lock: held if we cannot
     * take it now, i.e. held by anyone.  The daemon's locked() answers
     * that in one round trip, where a try-acquire and release took two
     * and spent a fencing token when the lock was free. */
    return lk_locked((PyObject *)t, NULL);
}

static PyObject *lk_release_save(PyObject *self, PyObject *unused)
{
    struct spy_obj *t = lk_target((struct spy_obj *)self);
    long depth, i;

    (void)unused;
    if (!lk_owner_known(t))
        return lk_release(self, NULL);
    if ((depth = lk_depth(t)) < 0)
        return NULL;
    if (depth == 0) {
        PyErr_SetString(PyExc_RuntimeError, spy_rlock_unowned);
        return NULL;
    }
    for (i = 0; i < depth; i++)
        if (lk_release_raw(t) != 0)
            return NULL;
    return Py_BuildValue("(lk)", depth, PyThread_get_thread_ident());
}

static PyObject *lk_acquire_restore(PyObject *self, PyObject *state)
{
    struct spy_obj *t = lk_target((struct spy_obj *)self);
    unsigned long depth = 1, owner = 0, i;
    int rv;

    if (lk_owner_known(t) && !PyArg_ParseTuple(state, "kk", &depth, &owner))
        return NULL;
    for (i = 0; i < depth; i++) {
        rv = lk_acquire_raw(t, true, -1);
        if (rv != 0)
            return lk_result(t, rv);
    }
    Py_RETURN_NONE;
}

static PyObject *lk_recursion_count(PyObject *self, PyObject *unused)
{
    struct spy_obj *t = lk_target((struct spy_obj *)self);
    long depth;

    (void)unused;
    if (!lk_owner_known(t))
        return PyLong_FromLong(0);
    if ((depth = lk_depth(t)) < 0)
        return NULL;
    return PyLong_FromLong(depth);
}

/* ---- Condition wait / notify --------------------------------------------- */

/* How many wait on it (repr shows it, as threading's does). */
static PyObject *cond_n_waiting(PyObject *self, PyObject *unused)
{
    (void)unused;
    return SPY_CALL(self, sync_cond_n_waiting, 'i');
}

static PyObject *cond_wait(PyObject *self, PyObject *const *args,
                           Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const kw[] = {"timeout"};
    struct spy_obj *o = (struct spy_obj *)self;
    PyObject *a[1] = {NULL};
    struct spy_wait w;
    double timeout;
    void *h;
    int rv;

    if (spy_args("wait", kw, 1, args, nargs, kwnames, a) != 0 ||
        spy_parse_wait_timeout(a[0], &timeout) != 0)
        return NULL;
    if ((h = spy_handle(o)) == NULL)
        return NULL;
    /* The daemon checks the caller owns the lock (SYNC_EPERM), releases
     * every level and queues in one step.  Interrupted too, the lock is
     * held again (threading's wait gets it back in a finally: clause),
     * and `with` releases it. */
    SPY_WAIT(w, rv, sync_cond_wait(h, timeout));
    if (w.raised)
        return NULL;
    if (rv == SYNC_EPERM)
        return spy_raise(rv, o, "cannot wait on un-acquired lock");
    return lk_result(o, rv);
}

static PyObject *cond_notify_n(struct spy_obj *o, unsigned n, bool all)
{
    PyObject *owned;
    void *h;
    int rv;

    if (n == 0 && !all) {
        /* Nothing to send, but threading still insists on the lock (for
         * a plain Lock, its _is_owned: held by anyone). */
        if ((owned = lk_is_owned((PyObject *)o, NULL)) == NULL)
            return NULL;
        rv = owned == Py_True;
        Py_DECREF(owned);
        if (!rv) {
            PyErr_SetString(PyExc_RuntimeError,
                            "cannot notify on un-acquired lock");
            return NULL;
        }
        Py_RETURN_NONE;
    }
    if ((h = spy_handle(o)) == NULL)
        return NULL;
    if (all)
        SPY_BLOCKING(rv, sync_cond_notify_all(h));
    else
        SPY_BLOCKING(rv, sync_cond_notify(h, n));
    if (rv != 0)
        return spy_raise(rv, o, "cannot notify on un-acquired lock");
    Py_RETURN_NONE;
}

static PyObject *cond_notify(PyObject *self, PyObject *const *args,
                             Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const kw[] = {"n"};
    PyObject *a[1] = {NULL};
    long long n = 1;
    int overflow;

    if (spy_args("notify", kw, 1, args, nargs, kwnames, a) != 0)
        return NULL;
    if (a[0] != NULL) {
        n = PyLong_AsLongLongAndOverflow(a[0], &overflow);
        if (n == -1 && PyErr_Occurred())
            return NULL;
        if (overflow != 0)
            n = overflow > 0 ? LLONG_MAX : 0;
    }
    if (n < 0)
        n = 0;
    return cond_notify_n((struct spy_obj *)self,
                         n > UINT_MAX ? UINT_MAX : (unsigned)n, false);
}

static PyObject *cond_notify_all(PyObject *self, PyObject *unused)
{
    (void)unused;
    return cond_notify_n((struct spy_obj *)self, 0, true);
}

/* ---- attributes ---------------------------------------------------------- */

static PyObject *lk_get_token(PyObject *self, void *unused)
{
    struct spy_obj *t = lk_target((struct spy_obj *)self);

    (void)unused;
    if (t->h == NULL)
        return PyLong_FromLong(0);
    if (t->kind == SPY_LOCK)
        return PyLong_FromUnsignedLongLong(sync_lock_token(t->h));
    if (t->kind == SPY_RLOCK)
        return PyLong_FromUnsignedLongLong(sync_rlock_token(t->h));
    Py_RETURN_NONE;
}

static PyObject *lk_get_owner_died(PyObject *self, void *unused)
{
    struct spy_obj *t = lk_target((struct spy_obj *)self);

    (void)unused;
    if (t->h == NULL)
        Py_RETURN_FALSE;
    if (t->kind == SPY_LOCK)
        return PyBool_FromLong(sync_lock_owner_died(t->h) == 1);
    if (t->kind == SPY_RLOCK)
        return PyBool_FromLong(sync_rlock_owner_died(t->h) == 1);
    Py_RETURN_FALSE;
}

static PyObject *lk_get_owner_lost(PyObject *self, void *unused)
{
    struct spy_obj *t = lk_target((struct spy_obj *)self);

    (void)unused;
    if (t->h == NULL)
        Py_RETURN_FALSE;
    switch (t->kind) {
    case SPY_LOCK: return PyBool_FromLong(sync_lock_owner_lost(t->h) == 1);
    case SPY_RLOCK: return PyBool_FromLong(sync_rlock_owner_lost(t->h) == 1);
    case SPY_COND: return PyBool_FromLong(sync_cond_owner_lost(t->h) == 1);
    default: Py_RETURN_FALSE;
    }
}

static PyObject *cond_get_lock(PyObject *self, void *unused)
{
    struct spy_obj *o = (struct spy_obj *)self;

    (void)unused;
    if (o->lock == NULL)
        Py_RETURN_NONE;
    return Py_NewRef((PyObject *)o->lock);
}

/* ---- types ---------------------------------------------------------------- */

static int lock_init(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", NULL};
    PyObject *name = NULL;
    struct spy_obj *o = (struct spy_obj *)self;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O", kwlist, &name))
        return -1;
    if (spy_obj_init_common(
            o, PyObject_TypeCheck(self, &spy_rlock_type) ? SPY_RLOCK : SPY_LOCK,
            name) != 0)
        return -1;
    return spy_handle(o) == NULL ? -1 : 0;
}

static int cond_init(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"lock", "name", NULL};
    PyObject *lock = NULL, *name = NULL;
    struct spy_obj *o = (struct spy_obj *)self;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$O", kwlist, &lock, &name))
        return -1;
    if (lock != NULL && lock != Py_None &&
        !PyObject_TypeCheck(lock, &spy_lock_type) &&
        !PyObject_TypeCheck(lock, &spy_rlock_type)) {
        PyErr_Format(PyExc_TypeError,
                     "syncd.Condition needs a syncd.Lock or syncd.RLock "
                     "(shared between processes), not %.100s",
                     Py_TYPE(lock)->tp_name);
        return -1;
    }
    if (spy_obj_init_common(o, SPY_COND, name) != 0)
        return -1;
    if (lock != NULL && lock != Py_None)
        o->lock = (struct spy_obj *)Py_NewRef(lock);
    return spy_handle(o) == NULL ? -1 : 0;
}

#define LK_COMMON_METHODS                                                     \
    SPY_METH("acquire", lk_acquire, SPY_FAST,                                 \
             "acquire($self, /, blocking=True, timeout=-1)\n--\n\n"        \
             "Acquire the lock; True, or False when it timed out."),          \
        SPY_METH("release", lk_release, METH_NOARGS,                          \
                 "release($self, /)\n--\n\nRelease the lock."),              \
        SPY_METH("__enter__", lk_enter, METH_NOARGS, NULL),                   \
        SPY_METH("__exit__", lk_exit, METH_FASTCALL, NULL),                   \
        SPY_METH("locked", lk_locked, METH_NOARGS,                            \
                 "True when anyone holds it (asks the daemon)"),              \
        SPY_METH("_is_owned", lk_is_owned, METH_NOARGS, NULL),                \
        SPY_METH("_release_save", lk_release_save, METH_NOARGS, NULL),        \
        SPY_METH("_acquire_restore", lk_acquire_restore, METH_O, NULL),       \
        SPY_METH("close", spy_close_method, METH_NOARGS,                      \
                 "close the handle (what it holds is released)")

static PyMethodDef lock_methods[] = {
    LK_COMMON_METHODS,
    {NULL, NULL, 0, NULL},
};

static PyMethodDef rlock_methods[] = {
    LK_COMMON_METHODS,
    SPY_METH("_recursion_count", lk_recursion_count, METH_NOARGS, NULL),
    {NULL, NULL, 0, NULL},
};

static PyMethodDef cond_methods[] = {
    LK_COMMON_METHODS,
    SPY_METH("_recursion_count", lk_recursion_count, METH_NOARGS, NULL),
    SPY_METH("_n_waiting", cond_n_waiting, METH_NOARGS, NULL),
    SPY_METH("wait", cond_wait, SPY_FAST, "wait($self, /, timeout=None)\n--\n\n"
             "Wait until notified or timed out; False when timed out."),
    SPY_METH("notify", cond_notify, SPY_FAST, "notify($self, /, n=1)\n--\n\nWake up to n waiters."),
    SPY_METH("notify_all", cond_notify_all, METH_NOARGS,
             "notify_all($self, /)\n--\n\nWake every waiter."),
    SPY_METH("notifyAll", cond_notify_all, METH_NOARGS, "notify_all()"),
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef lock_getset[] = {
    {"token", lk_get_token, NULL,
     "fencing token of this handle's last acquisition (0 before)", NULL},
    {"owner_died", lk_get_owner_died, NULL,
     "True when the last acquisition followed a holder's death", NULL},
    {"owner_lost", lk_get_owner_lost, NULL,
     "True when this handle's hold was lost in a daemon restart (its "
     "reclaim was refused), until its next acquisition", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyGetSetDef cond_getset[] = {
    {"owner_lost", lk_get_owner_lost, NULL,
     "True when the lock's hold was lost in a daemon restart (its "
     "reclaim was refused), until its next acquisition", NULL},
    {"lock", cond_get_lock, NULL,
     "the syncd Lock/RLock given to the constructor, or None", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

SPY_TYPE(spy_lock_type, "syncd._syncd.Lock", "Lock(name=None)", lock_init,
         lock_methods, lock_getset);
SPY_TYPE(spy_rlock_type, "syncd._syncd.RLock", "RLock(name=None)", lock_init,
         rlock_methods, lock_getset);
SPY_TYPE(spy_cond_type, "syncd._syncd.Condition",
         "Condition(lock=None, *, name=None)", cond_init, cond_methods,
         cond_getset);

int spy_lockable_types_ready(PyObject *m)
{
    if (spy_add_type(m, &spy_lock_type, "Lock") < 0 ||
        spy_add_type(m, &spy_rlock_type, "RLock") < 0 ||
        spy_add_type(m, &spy_cond_type, "Condition") < 0)
        return -1;
    return 0;
}
