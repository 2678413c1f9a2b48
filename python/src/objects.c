/*
 * objects.c: syncd._syncd.Semaphore, BoundedSemaphore, Event and Barrier.
 * Each call is one libsyncclient call with the GIL released; the
 * threading timeout conventions are applied before it (spy_parse_*).
 */
#include "syncd_py.h"

#include <limits.h>
#include <time.h>

/* ---- Semaphore / BoundedSemaphore --------------------------------------- */

static PyObject *sem_acquire(PyObject *self, PyObject *const *args,
                             Py_ssize_t nargs, PyObject *kwnames)
{
    struct spy_obj *o = (struct spy_obj *)self;
    struct spy_wait w;
    bool blocking;
    double timeout;
    void *h;
    int rv;

    if (spy_parse_sem_args(args, nargs, kwnames, &blocking, &timeout) != 0 ||
        (h = spy_handle(o)) == NULL)
        return NULL;
    SPY_WAIT(w, rv, sync_sem_acquire(h, blocking, timeout));
    if (w.raised) {
        /* Granted before the cancel arrived: give the permit back. */
        if (rv == 0)
            SPY_BLOCKING(rv, sync_sem_release(h, 1));
        return NULL;
    }
    if (rv == 0)
        Py_RETURN_TRUE;
    if (rv == SYNC_ETIMEDOUT)
        Py_RETURN_FALSE;
    return spy_raise(rv, o, NULL);
}

static PyObject *sem_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    return sem_acquire(self, NULL, 0, NULL);
}

static PyObject *sem_release(PyObject *self, PyObject *const *args,
                             Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const kw[] = {"n"};
    struct spy_obj *o = (struct spy_obj *)self;
    PyObject *a[1] = {NULL};
    long n = 1;
    void *h;
    int rv;

    if (spy_args("release", kw, 1, args, nargs, kwnames, a) != 0)
        return NULL;
    if (a[0] != NULL && (n = PyLong_AsLong(a[0])) == -1 && PyErr_Occurred())
        return NULL;
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "n must be one or more");
        return NULL;
    }
    if ((h = spy_handle(o)) == NULL)
        return NULL;
    if (n > (long)SYNC_SEM_VALUE_MAX)
        return spy_raise(o->kind == SPY_BSEM ? SYNC_EVALUE : SYNC_EINVAL, o,
                         NULL);
    SPY_BLOCKING(rv, sync_sem_release(h, (unsigned)n));
    if (rv != 0)
        return spy_raise(rv, o, NULL);
    Py_RETURN_NONE;
}

static PyObject *sem_exit(PyObject *self, PyObject *const *args,
                          Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    return sem_release(self, NULL, 0, NULL);
}

static PyObject *sem_get_value(PyObject *self, void *unused)
{
    (void)unused;
    return SPY_CALL(self, sync_sem_value, 'i');
}

static int sem_init(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"value", "name", "undo", NULL};
    struct spy_obj *o = (struct spy_obj *)self;
    PyObject *value = NULL, *name = NULL;
    long long v = 1;
    int undo = 0;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$Op", kwlist, &value, &name,
                                     &undo))
        return -1;
    if (value != NULL && (v = PyLong_AsLongLong(value)) == -1 &&
        PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
        v = _PyLong_Sign(value) < 0 ? -1 : LLONG_MAX;
    }
    if (v < 0) {
        PyErr_SetString(PyExc_ValueError, "semaphore initial value must be >= 0");
        return -1;
    }
    if (v > (long long)SYNC_SEM_VALUE_MAX) {
        PyErr_Format(PyExc_ValueError,
                     "semaphore initial value must be <= %u (syncd's limit)",
                     SYNC_SEM_VALUE_MAX);
        return -1;
    }
    o->value = (unsigned)v;
    o->undo = undo != 0;
    if (spy_obj_init_common(
            o, PyObject_TypeCheck(self, &spy_bsem_type) ? SPY_BSEM : SPY_SEM,
            name) != 0)
        return -1;
    return spy_handle(o) == NULL ? -1 : 0;
}

static PyMethodDef sem_methods[] = {
    SPY_METH("acquire", sem_acquire, SPY_FAST,
             "acquire($self, /, blocking=True, timeout=None)\n--\n\n"
             "Take a permit; True, or False when it timed out."),
    SPY_METH("release", sem_release, SPY_FAST, "release($self, /, n=1)\n--\n\nGive n permits back."),
    SPY_METH("__enter__", sem_enter, METH_NOARGS, NULL),
    SPY_METH("__exit__", sem_exit, METH_FASTCALL, NULL),
    SPY_METH("close", spy_close_method, METH_NOARGS, "close the handle"),
    {NULL, NULL, 0, NULL},
};

static PyObject *sem_get_undo(PyObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((struct spy_obj *)self)->undo);
}

static PyGetSetDef sem_getset[] = {
    {"_value", sem_get_value, NULL, "current value (asks the daemon)", NULL},
    {"undo", sem_get_undo, NULL,
     "True: permits this process holds come back when it dies "
     "(SYNC_SEM_UNDO)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

SPY_TYPE(spy_sem_type, "syncd._syncd.Semaphore",
         "Semaphore(value=1, *, name=None, undo=False)", sem_init, sem_methods,
         sem_getset);
/* BoundedSemaphore derives from Semaphore, as in threading. */
SPY_TYPE(spy_bsem_type, "syncd._syncd.BoundedSemaphore",
         "BoundedSemaphore(value=1, *, name=None, undo=False)", sem_init, NULL,
         NULL);

/* ---- Event ------------------------------------------------------------- */


static PyObject *event_set(PyObject *self, PyObject *unused)
{
    (void)unused;
    return SPY_CALL(self, sync_event_set, 'N');
}

static PyObject *event_clear(PyObject *self, PyObject *unused)
{
    (void)unused;
    return SPY_CALL(self, sync_event_clear, 'N');
}

static PyObject *event_is_set(PyObject *self, PyObject *unused)
{
    (void)unused;
    return SPY_CALL(self, sync_event_is_set, 'b');
}

static PyObject *event_wait(PyObject *self, PyObject *const *args,
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
        spy_parse_wait_timeout(a[0], &timeout) != 0 ||
        (h = spy_handle(o)) == NULL)
        return NULL;
    SPY_WAIT(w, rv, sync_event_wait(h, timeout));
    if (w.raised)
        return NULL;
    if (rv == 0)
        Py_RETURN_TRUE;
    if (rv == SYNC_ETIMEDOUT)
        Py_RETURN_FALSE;
    return spy_raise(rv, o, NULL);
}

static int event_init(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", NULL};
    PyObject *name = NULL;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O", kwlist, &name))
        return -1;
    if (spy_obj_init_common((struct spy_obj *)self, SPY_EVENT, name) != 0)
        return -1;
    return spy_handle((struct spy_obj *)self) == NULL ? -1 : 0;
}

static PyMethodDef event_methods[] = {
    SPY_METH("set", event_set, METH_NOARGS, "set($self, /)\n--\n\nSet the flag, wake every waiter."),
    SPY_METH("clear", event_clear, METH_NOARGS, "clear($self, /)\n--\n\nClear the flag."),
    SPY_METH("is_set", event_is_set, METH_NOARGS,
             "is_set($self, /)\n--\n\nWhether the flag is set."),
    SPY_METH("isSet", event_is_set, METH_NOARGS, "is_set() -> bool"),
    SPY_METH("wait", event_wait, SPY_FAST, "wait($self, /, timeout=None)\n--\n\n"
             "Wait for the flag; False when timed out."),
    SPY_METH("close", spy_close_method, METH_NOARGS, "close the handle"),
    {NULL, NULL, 0, NULL},
};

SPY_TYPE(spy_event_type, "syncd._syncd.Event", "Event(name=None)",
         event_init, event_methods, NULL);

/* ---- Barrier ------------------------------------------------------------ */

/* What the action callback needs: the wait (its saved thread state) and
 * the callable; failed: the action raised (its exception is pending). */
struct barrier_action {
    struct spy_wait *w;
    PyObject *action;
    bool failed;
};

/* Run by libsyncclient on the party the daemon asks, between its wait and
 * its report, with the GIL released: take the GIL, run the action. */
static int barrier_run_action(void *arg)
{
    struct barrier_action *a = arg;
    PyObject *r = NULL;

    PyEval_RestoreThread(a->w->ts);
    /* A signal handler raised during the wait (its exception is pending):
     * report a failure, which breaks the round, as threading's does. */
    if (!a->w->raised) {
        r = PyObject_CallNoArgs(a->action);
        a->failed = r == NULL;
        Py_XDECREF(r);
    }
    a->w->ts = PyEval_SaveThread();
    return a->failed || a->w->raised ? SYNC_EBROKEN : 0;
}

/* _wait(timeout, action=None): the daemon's barrier; None waits forever.
 * With an action this party offers to run it: the daemon asks exactly one
 * party of the round, and the others wait until it ran. */
static PyObject *barrier_wait(PyObject *self, PyObject *const *args,
                              Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const kw[] = {"timeout", "action", NULL};
    struct spy_obj *o = (struct spy_obj *)self;
    PyObject *a[2] = {Py_None, Py_None};
    struct spy_wait w;
    struct barrier_action act = {.w = &w};
    double timeout;
    void *h;
    int rv;

    if (spy_args("_wait", kw, 2, args, nargs, kwnames, a) != 0 ||
        spy_parse_wait_timeout(a[0], &timeout) != 0)
        return NULL;
    if (a[1] != Py_None && !PyCallable_Check(a[1]))
        return PyErr_Format(PyExc_TypeError,
                            "action must be callable, not %.100s",
                            Py_TYPE(a[1])->tp_name);
    if ((h = spy_handle(o)) == NULL)
        return NULL;
    act.action = a[1];
    SPY_WAIT(w, rv,
             a[1] == Py_None
                 ? sync_barrier_wait(h, timeout)
                 : sync_barrier_wait_action(h, timeout, barrier_run_action,
                                            &act));
    /* The action raised (its exception propagates; the others get
     * BrokenBarrierError), or Ctrl-C: the barrier broke, as threading's
     * does. */
    if (w.raised || act.failed)
        return NULL;
    if (rv < 0)
        return spy_raise(rv, o, NULL);
    return PyLong_FromLong(rv);
}

static PyObject *barrier_reset(PyObject *self, PyObject *unused)
{
    (void)unused;
    return SPY_CALL(self, sync_barrier_reset, 'N');
}

static PyObject *barrier_abort(PyObject *self, PyObject *unused)
{
    (void)unused;
    return SPY_CALL(self, sync_barrier_abort, 'N');
}

static PyObject *barrier_get_parties(PyObject *self, void *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLong(((struct spy_obj *)self)->value);
}

static PyObject *barrier_get_n_waiting(PyObject *self, void *unused)
{
    (void)unused;
    return SPY_CALL(self, sync_barrier_n_waiting, 'i');
}

static PyObject *barrier_get_broken(PyObject *self, void *unused)
{
    (void)unused;
    return SPY_CALL(self, sync_barrier_broken, 'b');
}

static int barrier_init(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"parties", "name", NULL};
    struct spy_obj *o = (struct spy_obj *)self;
    PyObject *name = NULL;
    long long parties;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "L|$O", kwlist, &parties,
                                     &name))
        return -1;
    if (parties < 1 || parties > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "parties must be > 0");
        return -1;
    }
    o->value = (unsigned)parties;
    if (spy_obj_init_common(o, SPY_BARRIER, name) != 0)
        return -1;
    return spy_handle(o) == NULL ? -1 : 0;
}

static PyMethodDef barrier_methods[] = {
    SPY_METH("_wait", barrier_wait, SPY_FAST,
             "_wait(timeout, action=None) -> index"),
    SPY_METH("reset", barrier_reset, METH_NOARGS, "reset($self, /)\n--\n\nReset the barrier to its empty state."),
    SPY_METH("abort", barrier_abort, METH_NOARGS, "abort($self, /)\n--\n\nPut the barrier into the broken state."),
    SPY_METH("close", spy_close_method, METH_NOARGS, "close the handle"),
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef barrier_getset[] = {
    {"parties", barrier_get_parties, NULL, "number of parties", NULL},
    {"n_waiting", barrier_get_n_waiting, NULL,
     "parties waiting now (asks the daemon)", NULL},
    {"broken", barrier_get_broken, NULL, "True when broken", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

SPY_TYPE(spy_barrier_type, "syncd._syncd.Barrier",
         "Barrier(parties, *, name=None)", barrier_init, barrier_methods,
         barrier_getset);

int spy_other_types_ready(PyObject *m)
{
    spy_bsem_type.tp_base = &spy_sem_type;
    if (spy_add_type(m, &spy_sem_type, "Semaphore") < 0 ||
        spy_add_type(m, &spy_bsem_type, "BoundedSemaphore") < 0 ||
        spy_add_type(m, &spy_event_type, "Event") < 0 ||
        spy_add_type(m, &spy_barrier_type, "Barrier") < 0)
        return -1;
    return 0;
}

/* ---- benchmark hook -------------------------------------------------------- */

/*
 * _c_lock_pairs(lock, samples, pairs_per_sample) -> list of ns per sample:
 * the C library's own acquire + release time, on the same handle and
 * connection the Python methods use, for bench/python_bench.py's ratio of
 * the package to libsyncclient.  The GIL is released for the whole loop.
 */
static int64_t spy_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

PyObject *spy_c_lock_pairs(PyObject *mod, PyObject *args)
{
    struct spy_obj *o;
    Py_ssize_t samples, pairs, i, j;
    int64_t *ns;
    PyObject *list = NULL;
    void *h;
    int rv = 0;

    (void)mod;
    if (!PyArg_ParseTuple(args, "O!nn", &spy_lock_type, &o, &samples, &pairs))
        return NULL;
    if (samples < 1 || pairs < 1)
        return PyErr_Format(PyExc_ValueError, "samples and pairs must be >= 1");
    if ((h = spy_handle(o)) == NULL)
        return NULL;
    if ((ns = PyMem_Calloc((size_t)samples, sizeof(*ns))) == NULL)
        return PyErr_NoMemory();
    Py_BEGIN_ALLOW_THREADS
    for (i = 0; i < samples && rv == 0; i++) {
        int64_t t0 = spy_now_ns();
        for (j = 0; j < pairs && rv == 0; j++) {
            rv = sync_lock_acquire(h, true, -1);
            if (rv == 0)
                rv = sync_lock_release(h);
        }
        ns[i] = spy_now_ns() - t0;
    }
    Py_END_ALLOW_THREADS
    if (rv != 0) {
        PyMem_Free(ns);
        return spy_raise(rv, o, NULL);
    }
    list = PyList_New(samples);
    for (i = 0; list != NULL && i < samples; i++)
        PyList_SET_ITEM(list, i, PyLong_FromLongLong(ns[i]));
    PyMem_Free(ns);
    return list;
}
