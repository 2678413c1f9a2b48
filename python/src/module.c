/*
 * module.c: syncd._syncd: the process's one connection, the error
 * mapping, threading's argument conventions and what every object type
 * shares (name, re-open after fork, close).
 */
#include "syncd_py.h"

#include <limits.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <pythread.h>

PyObject *spy_error, *spy_deadlock_error, *spy_connection_error,
    *spy_broken_barrier_error;
double spy_timeout_max;

static sync_client *spy_client; /* owned; NULL until first needed */
static char *spy_path;          /* owned (PyMem); NULL: the default path */
unsigned long spy_gen = 1; /* bumped by connect() and fork() */

static PyObject *spy_set(PyObject *type, int code, struct spy_obj *o,
                         const char *msg);

/* ---- connection ---------------------------------------------------------- */

static sync_client *spy_get_client(void)
{
    sync_client *c = NULL;
    int rv;

    if (spy_client != NULL)
        return spy_client;
    SPY_BLOCKING(rv, sync_connect(spy_path, &c));
    if (rv != 0) {
        char path[256] = "";
        if (spy_path != NULL)
            snprintf(path, sizeof(path), "%s", spy_path);
        else
            (void)sync_default_socket_path(path, sizeof(path));
        char msg[384];

        snprintf(msg, sizeof(msg), "cannot connect to syncd at %s: %s", path,
                 sync_strerror(rv));
        /* With .code and .errname, as every error of the package. */
        spy_set(spy_connection_error, rv, NULL, msg);
        return NULL;
    }
    spy_client = c;
    return c;
}

/* Drop the connection: objects re-open on their next use. */
static void spy_drop_client(void)
{
    sync_client *c = spy_client;

    spy_client = NULL;
    spy_gen++;
    if (c != NULL)
        Py_BEGIN_ALLOW_THREADS sync_disconnect(c);
        Py_END_ALLOW_THREADS
}

static PyObject *spy_connect(PyObject *mod, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", NULL};
    const char *path = NULL;
    char *copy = NULL;

    (void)mod;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|z:connect", kwlist, &path))
        return NULL;
    if (path != NULL) {
        copy = PyMem_Malloc(strlen(path) + 1);
        if (copy == NULL)
            return PyErr_NoMemory();
        strcpy(copy, path);
    }
    spy_drop_client();
    PyMem_Free(spy_path);
    spy_path = copy;
    if (spy_get_client() == NULL)
        return NULL;
    Py_RETURN_NONE;
}

/* os.register_at_fork(after_in_child=...): the inherited connection is
 * the parent's (libsyncclient already detached it); connect anew lazily. */
static PyObject *spy_after_fork(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    if (spy_client != NULL)
        sync_disconnect(spy_client); /* a forked client: frees memory */
    spy_client = NULL;
    spy_gen++;
    Py_RETURN_NONE;
}

/* Raise ValueError for the name s (len bytes of UTF-8) that is not
 * valid; -1. */
static int spy_bad_name(const char *s, Py_ssize_t len)
{
    if (len > 0 && strlen(s) != (size_t)len)
        PyErr_SetString(PyExc_ValueError,
                        "name must not contain a NUL character");
    else
        PyErr_Format(PyExc_ValueError, "name must be 1 to %d bytes of UTF-8",
                     SYNC_NAME_MAX);
    return -1;
}

static PyObject *spy_unlink(PyObject *mod, PyObject *arg)
{
    Py_ssize_t len = 0;
    sync_client *c;
    const char *name;
    int rv;

    (void)mod;
    if (!PyUnicode_Check(arg))
        return PyErr_Format(PyExc_TypeError, "name must be str, not %.100s",
                            Py_TYPE(arg)->tp_name);
    name = PyUnicode_AsUTF8AndSize(arg, &len);
    if (name == NULL)
        return NULL;
    if (len == 0 || len > SYNC_NAME_MAX || strlen(name) != (size_t)len) {
        spy_bad_name(name, len);
        return NULL;
    }
    if ((c = spy_get_client()) == NULL)
        return NULL;
    SPY_BLOCKING(rv, sync_unlink(c, name));
    if (rv == 0)
        Py_RETURN_NONE;
    if (rv != SYNC_ECONN && rv != SYNC_ESHUTDOWN && rv != SYNC_ENOMEM &&
        rv != SYNC_EFORKED) {
        /* No object to name it: the message does (no such object...). */
        char msg[SYNC_NAME_MAX + 128];

        snprintf(msg, sizeof(msg), "unlink '%s': %s", name,
                 sync_strerror(rv));
        return spy_set(spy_error, rv, NULL, msg);
    }
    return spy_raise(rv, NULL, NULL);
}

static PyObject *spy_default_path(PyObject *mod, PyObject *unused)
{
    char path[256];

    (void)mod;
    (void)unused;
    if (spy_path != NULL)
        return PyUnicode_DecodeFSDefault(spy_path);
    if (sync_default_socket_path(path, sizeof(path)) != 0)
        return spy_raise(SYNC_EINVAL, NULL, NULL);
    return PyUnicode_DecodeFSDefault(path);
}

/* ---- interruptible waits ------------------------------------------------- */

static unsigned long spy_main_ident;

static bool spy_intr_check(void *arg)
{
    struct spy_wait *w = arg;

    if (!w->raised) {
        PyEval_RestoreThread(w->ts);
        w->raised = PyErr_CheckSignals() < 0;
        w->ts = PyEval_SaveThread();
    }
    return w->raised;
}

void spy_wait_begin(struct spy_wait *w)
{
    w->raised = false;
    w->main = PyThread_get_thread_ident() == spy_main_ident;
    w->ts = PyEval_SaveThread();
    if (w->main)
        sync_set_interrupt_check(spy_intr_check, w);
}

void spy_wait_end(struct spy_wait *w)
{
    if (w->main)
        sync_set_interrupt_check(NULL, NULL);
    PyEval_RestoreThread(w->ts);
}

/* ---- errors ---------------------------------------------------------------- */

static PyObject *spy_set(PyObject *type, int code, struct spy_obj *o,
                         const char *msg)
{
    PyObject *exc, *v;
    int bad;

    if (o != NULL && o->name != NULL)
        exc = PyObject_CallFunction(type, "N",
                                    PyUnicode_FromFormat("%s (%s): %R", msg,
                                                         sync_errname(code),
                                                         o->name));
    else
        exc = PyObject_CallFunction(type, "N",
                                    PyUnicode_FromFormat("%s (%s)", msg,
                                                         sync_errname(code)));
    if (exc == NULL)
        return NULL;
    v = PyLong_FromLong(code);
    bad = v == NULL || PyObject_SetAttrString(exc, "code", v) != 0;
    Py_XDECREF(v);
    v = bad ? NULL : PyUnicode_FromString(sync_errname(code));
    bad = v == NULL || PyObject_SetAttrString(exc, "errname", v) != 0;
    Py_XDECREF(v);
    if (!bad)
        PyErr_SetObject(type, exc);
    Py_DECREF(exc);
    return NULL;
}

PyObject *spy_raise(int code, struct spy_obj *o, const char *perm_msg)
{
    switch (code) {
    case SYNC_EPERM:
        if (perm_msg != NULL) {
            PyErr_SetString(PyExc_RuntimeError, perm_msg);
            return NULL;
        }
        return spy_set(spy_error, code, o, sync_strerror(code));
    case SYNC_EDEADLK:
        return spy_set(spy_deadlock_error, code, o, sync_strerror(code));
    case SYNC_EVALUE:
        PyErr_SetString(PyExc_ValueError, "Semaphore released too many times");
        return NULL;
    case SYNC_EBROKEN:
        PyErr_SetNone(spy_broken_barrier_error);
        return NULL;
    case SYNC_ENOMEM:
        return PyErr_NoMemory();
    case SYNC_ECONN:
    case SYNC_ESHUTDOWN:
        /* The connection is gone with everything it held: the next call
         * connects anew and objects re-open their names (a restarted
         * daemon is used again without re-creating objects). */
        spy_drop_client();
        return spy_set(spy_connection_error, code, o, sync_strerror(code));
    case SYNC_EFORKED:
        return spy_set(spy_connection_error, code, o, sync_strerror(code));
    default:
        return spy_set(spy_error, code, o, sync_strerror(code));
    }
}

/* ---- arguments ----------------------------------------------------------- */

int spy_args(const char *fname, const char *const *kw, int max,
             PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
             PyObject **out)
{
    Py_ssize_t i, nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    int j;

    if (nargs > max) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d arguments (%zd given)",
                     fname, max, nargs + nkw);
        return -1;
    }
    for (i = 0; i < nargs; i++)
        out[i] = args[i];
    for (i = 0; i < nkw; i++) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, i);
        for (j = 0; j < max; j++)
            if (PyUnicode_CompareWithASCIIString(k, kw[j]) == 0)
                break;
        if (j == max) {
            PyErr_Format(PyExc_TypeError,
                         "%s() got an unexpected keyword argument '%U'", fname, k);
            return -1;
        }
        if (j < nargs) {
            PyErr_Format(PyExc_TypeError,
                         "%s() got multiple values for argument '%s'", fname, kw[j]);
            return -1;
        }
        out[j] = args[nargs + i];
    }
    return 0;
}

static int spy_seconds(PyObject *obj, double *out)
{
    double t = PyFloat_AsDouble(obj);

    if (t == -1.0 && PyErr_Occurred())
        return -1;
    if (isnan(t)) {
        PyErr_SetString(PyExc_ValueError, "Invalid value NaN (not a number)");
        return -1;
    }
    *out = t;
    return 0;
}

static int spy_check_max(double t)
{
    if (t > spy_timeout_max) {
        PyErr_SetString(PyExc_OverflowError, "timeout value is too large");
        return -1;
    }
    return 0;
}

/* _thread's lock acquire parses blocking as a C int ("i"): None, a str or
 * a float is a TypeError there, where threading.Semaphore's Python code
 * takes any object's truth. */
static int spy_int_flag(PyObject *obj, int *out)
{
    long v = PyLong_AsLong(obj);

    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v > INT_MAX || v < INT_MIN) {
        PyErr_SetString(PyExc_OverflowError,
                        v > 0 ? "signed integer is greater than maximum"
                              : "signed integer is less than minimum");
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* acquire(blocking=True, timeout=...): the blocking flag into *blocking
 * (an int as _thread's locks take it, or any object's truth as
 * threading.Semaphore does) and the timeout object into *t (NULL when
 * absent). */
static int spy_acquire_args(PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames, bool int_flag, bool *blocking,
                            PyObject **t)
{
    static const char *const kw[] = {"blocking", "timeout"};
    PyObject *a[2] = {NULL, NULL};
    int b;

    *blocking = true;
    *t = NULL;
    if (nargs == 0 && kwnames == NULL)
        return 0;
    if (spy_args("acquire", kw, 2, args, nargs, kwnames, a) != 0)
        return -1;
    if (a[0] != NULL) {
        if (int_flag ? spy_int_flag(a[0], &b) != 0
                     : (b = PyObject_IsTrue(a[0])) < 0)
            return -1;
        *blocking = b != 0;
    }
    *t = a[1];
    return 0;
}

int spy_parse_lock_args(PyObject *const *args, Py_ssize_t nargs,
                        PyObject *kwnames, bool *blocking, double *timeout)
{
    PyObject *t;

    *timeout = -1;
    if (spy_acquire_args(args, nargs, kwnames, true, blocking, &t) != 0 ||
        (t != NULL && spy_seconds(t, timeout) != 0))
        return -1;
    /* CPython's _thread lock rules, word for word. */
    if (!*blocking && *timeout != -1) {
        PyErr_SetString(PyExc_ValueError,
                        "can't specify a timeout for a non-blocking call");
        return -1;
    }
    if (*timeout < 0 && *timeout != -1) {
        PyErr_SetString(PyExc_ValueError,
                        "timeout value must be a non-negative number");
        return -1;
    }
    return spy_check_max(*timeout);
}

int spy_parse_wait_timeout(PyObject *obj, double *timeout)
{
    if (obj == NULL || obj == Py_None) {
        *timeout = -1;
        return 0;
    }
    if (spy_seconds(obj, timeout) != 0 || spy_check_max(*timeout) != 0)
        return -1;
    /* threading: a timeout <= 0 polls without blocking. */
    if (*timeout < 0)
        *timeout = 0;
    return 0;
}

int spy_parse_sem_args(PyObject *const *args, Py_ssize_t nargs,
                       PyObject *kwnames, bool *blocking, double *timeout)
{
    PyObject *t;

    *timeout = -1;
    if (spy_acquire_args(args, nargs, kwnames, false, blocking, &t) != 0)
        return -1;
    if (!*blocking && t != NULL && t != Py_None) {
        PyErr_SetString(PyExc_ValueError,
                        "can't specify timeout for non-blocking acquire");
        return -1;
    }
    if (spy_parse_wait_timeout(t, timeout) != 0)
        return -1;
    if (*timeout == 0)
        *blocking = false; /* timeout <= 0: one try */
    if (!*blocking)
        *timeout = -1;
    return 0;
}

/* ---- objects ------------------------------------------------------------ */

static int spy_open(struct spy_obj *o, sync_client *c, void **h)
{
    const char *lk = o->lock != NULL ? o->lock->cname : NULL;
    const char *n = o->cname;
    int rv = SYNC_EINVAL;

    Py_BEGIN_ALLOW_THREADS
    switch (o->kind) {
    case SPY_LOCK: rv = sync_lock_open(c, n, (sync_lock **)h); break;
    case SPY_RLOCK: rv = sync_rlock_open(c, n, (sync_rlock **)h); break;
    case SPY_COND: rv = sync_cond_open(c, n, lk, (sync_cond **)h); break;
    case SPY_SEM:
    case SPY_BSEM:
        rv = sync_sem_open_flags(c, n, o->value, o->kind == SPY_BSEM,
                                 o->undo ? SYNC_SEM_UNDO : 0,
                                 (sync_sem **)h);
        break;
    case SPY_EVENT: rv = sync_event_open(c, n, (sync_event **)h); break;
    case SPY_BARRIER:
        rv = sync_barrier_open(c, n, o->value, (sync_barrier **)h);
        break;
    }
    Py_END_ALLOW_THREADS
    return rv;
}

static void spy_close_obj_handle(enum spy_kind kind, void *h)
{
    Py_BEGIN_ALLOW_THREADS
    switch (kind) {
    case SPY_LOCK: sync_lock_close(h); break;
    case SPY_RLOCK: sync_rlock_close(h); break;
    case SPY_COND: sync_cond_close(h); break;
    case SPY_SEM:
    case SPY_BSEM: sync_sem_close(h); break;
    case SPY_EVENT: sync_event_close(h); break;
    case SPY_BARRIER: sync_barrier_close(h); break;
    }
    Py_END_ALLOW_THREADS
}

static void spy_close_handle(struct spy_obj *o)
{
    void *h = o->h;

    o->h = NULL;
    if (h != NULL)
        spy_close_obj_handle(o->kind, h);
}

void *spy_handle(struct spy_obj *o)
{
    sync_client *c;
    void *h = NULL;
    int rv;

    if (o->h != NULL && o->gen == spy_gen)
        return o->h;
    if (o->closed || (o->name == NULL && !o->anonymous)) {
        PyErr_Format(PyExc_ValueError, "operation on a closed syncd.%s",
                     Py_TYPE(o)->tp_name);
        return NULL;
    }
    /* A handle of an older connection: the child of a fork() holds
     * nothing its parent held. */
    spy_close_handle(o);
    if (o->lock != NULL && spy_handle(o->lock) == NULL)
        return NULL;
    if ((c = spy_get_client()) == NULL)
        return NULL;
    rv = spy_open(o, c, &h);
    if (rv != 0)
        return spy_raise(rv, o, NULL);
    /* Anonymous: the daemon keeps the object while any process has it
     * open; later opens (a fork child's) use the generated name. */
    if (o->name == NULL &&
        (o->name = PyUnicode_FromString(sync_handle_name(h))) != NULL)
        o->cname = PyUnicode_AsUTF8(o->name);
    if (o->name == NULL || o->cname == NULL) {
        Py_CLEAR(o->name);
        spy_close_obj_handle(o->kind, h);
        return NULL;
    }
    o->h = h;
    o->gen = spy_gen;
    return h;
}

int spy_obj_init_common(struct spy_obj *o, enum spy_kind kind, PyObject *name)
{
    Py_ssize_t len = 0;
    PyObject *n;

    if (o->name != NULL || o->anonymous) {
        PyErr_SetString(PyExc_RuntimeError, "syncd object initialized twice");
        return -1;
    }
    o->kind = kind;
    if (name == NULL || name == Py_None) {
        /* Anonymous: libsyncclient generates the name when it opens. */
        o->anonymous = true;
        return 0;
    } else if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError, "name must be str or None, not %.100s",
                     Py_TYPE(name)->tp_name);
        return -1;
    } else {
        n = Py_NewRef(name);
    }
    if (n == NULL)
        return -1;
    o->cname = PyUnicode_AsUTF8AndSize(n, &len);
    if (o->cname == NULL || len == 0 || len > SYNC_NAME_MAX ||
        strlen(o->cname) != (size_t)len) {
        /* A NUL inside would cut the name short in C: another object. */
        if (o->cname != NULL)
            spy_bad_name(o->cname, len);
        Py_DECREF(n);
        return -1;
    }
    o->name = n;
    return 0;
}

void spy_obj_dealloc(PyObject *self)
{
    struct spy_obj *o = (struct spy_obj *)self;

    PyObject_GC_UnTrack(self);
    if (o->weakrefs != NULL)
        PyObject_ClearWeakRefs(self);
    spy_close_handle(o);
    Py_CLEAR(o->lock);
    Py_CLEAR(o->name);
    Py_TYPE(self)->tp_free(self);
}

PyObject *spy_close_method(PyObject *self, PyObject *unused)
{
    struct spy_obj *o = (struct spy_obj *)self;

    (void)unused;
    spy_close_handle(o);
    o->closed = true;
    Py_RETURN_NONE;
}

static PyObject *spy_get_name(PyObject *self, void *unused)
{
    struct spy_obj *o = (struct spy_obj *)self;

    (void)unused;
    if (o->name == NULL)
        Py_RETURN_NONE;
    return Py_NewRef(o->name);
}

static PyObject *spy_get_anonymous(PyObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((struct spy_obj *)self)->anonymous);
}

static PyObject *spy_get_closed(PyObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((struct spy_obj *)self)->closed);
}

static PyObject *spy_get_value(PyObject *self, void *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLong(((struct spy_obj *)self)->value);
}

PyGetSetDef spy_common_getset[] = {
    {"name", spy_get_name, NULL, "the object's name in the daemon", NULL},
    {"anonymous", spy_get_anonymous, NULL,
     "True when the name was generated (the object was made without one)",
     NULL},
    {"closed", spy_get_closed, NULL, "True after close()", NULL},
    {"_initial_value", spy_get_value, NULL,
     "semaphore initial value or barrier parties", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

int spy_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((struct spy_obj *)self)->lock);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

int spy_clear(PyObject *self)
{
    (void)self; /* a Condition keeps its lock until dealloc: its handle
                   was opened by the lock's name */
    return 0;
}

int spy_add_type(PyObject *m, PyTypeObject *t, const char *name)
{
    if (t->tp_base == NULL)
        t->tp_base = &PyBaseObject_Type;
    if (PyType_Ready(t) < 0)
        return -1;
    /* Attributes common to every object type (name, closed, ...). */
    for (PyGetSetDef *g = spy_common_getset; g->name != NULL; g++) {
        PyObject *d = PyDescr_NewGetSet(t, g);
        if (d == NULL || PyDict_SetItemString(t->tp_dict, g->name, d) < 0) {
            Py_XDECREF(d);
            return -1;
        }
        Py_DECREF(d);
    }
    PyType_Modified(t);
    return PyModule_AddObjectRef(m, name, (PyObject *)t);
}

/* ---- module ----------------------------------------------------------- */

static PyMethodDef spy_methods[] = {
    {"connect", (PyCFunction)(void (*)(void))spy_connect,
     METH_VARARGS | METH_KEYWORDS,
     "connect(path=None): use the daemon at path (None: $SYNCD_SOCKET or the "
     "default); drops the current connection and everything it holds."},
    {"socket_path", spy_default_path, METH_NOARGS,
     "The socket path this process connects to."},
    {"unlink", spy_unlink, METH_O,
     "unlink(name): remove a name from the daemon (open objects live on)."},
    {"_after_fork", spy_after_fork, METH_NOARGS, NULL},
    {"_c_lock_pairs", spy_c_lock_pairs, METH_VARARGS,
     "_c_lock_pairs(lock, samples, pairs): ns per sample of `pairs` "
     "acquire+release pairs made by libsyncclient alone (benchmarks)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef spy_module = {
    PyModuleDef_HEAD_INIT, "syncd._syncd",
    "C core of the syncd package (see help(syncd)).", -1, spy_methods,
    NULL, NULL, NULL, NULL,
};

static int spy_exceptions(PyObject *m)
{
    PyObject *threading = PyImport_ImportModule("threading"), *t;

    if (threading == NULL)
        return -1;
    spy_broken_barrier_error =
        PyObject_GetAttrString(threading, "BrokenBarrierError");
    /* threading.main_thread().ident: where Python runs signal handlers. */
    t = PyObject_CallMethod(threading, "main_thread", NULL);
    if (t != NULL) {
        PyObject *ident = PyObject_GetAttrString(t, "ident");
        Py_DECREF(t);
        if (ident != NULL) {
            spy_main_ident = PyLong_AsUnsignedLong(ident);
            Py_DECREF(ident);
        }
    }
    if (PyErr_Occurred()) {
        Py_DECREF(threading);
        return -1;
    }
    t = PyObject_GetAttrString(threading, "TIMEOUT_MAX");
    Py_DECREF(threading);
    if (spy_broken_barrier_error == NULL || t == NULL)
        return -1;
    spy_timeout_max = PyFloat_AsDouble(t);
    Py_DECREF(t);

    spy_error = PyErr_NewExceptionWithDoc(
        "syncd.Error", "A syncd call failed; .code and .errname say how.",
        NULL, NULL);
    t = PyTuple_Pack(2, spy_error, PyExc_RuntimeError);
    spy_deadlock_error = t == NULL ? NULL : PyErr_NewExceptionWithDoc(
        "syncd.DeadlockError",
        "Waiting would close a cycle of processes waiting for each other.",
        t, NULL);
    Py_XDECREF(t);
    t = PyTuple_Pack(2, spy_error, PyExc_ConnectionError);
    spy_connection_error = t == NULL ? NULL : PyErr_NewExceptionWithDoc(
        "syncd.ConnectionError", "No connection to the syncd daemon.", t,
        NULL);
    Py_XDECREF(t);
    if (spy_error == NULL || spy_deadlock_error == NULL ||
        spy_connection_error == NULL)
        return -1;
    if (PyModule_AddObjectRef(m, "Error", spy_error) < 0 ||
        PyModule_AddObjectRef(m, "DeadlockError", spy_deadlock_error) < 0 ||
        PyModule_AddObjectRef(m, "ConnectionError", spy_connection_error) < 0)
        return -1;
    return 0;
}

PyMODINIT_FUNC PyInit__syncd(void);

PyMODINIT_FUNC PyInit__syncd(void)
{
    PyObject *m = PyModule_Create(&spy_module);

    if (m == NULL)
        return NULL;
    if (spy_exceptions(m) != 0 || spy_lockable_types_ready(m) != 0 ||
        spy_other_types_ready(m) != 0 ||
        PyModule_AddIntConstant(m, "NAME_MAX", SYNC_NAME_MAX) < 0 ||
        PyModule_AddIntConstant(m, "SEM_VALUE_MAX", SYNC_SEM_VALUE_MAX) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

/* Call fn(h): None ('N'), a bool ('b') or an int ('i') from its
 * non-negative result. */
PyObject *spy_call_int(PyObject *self, int (*fn)(void *), int as)
{
    struct spy_obj *o = (struct spy_obj *)self;
    void *h = spy_handle(o);
    int rv;

    if (h == NULL)
        return NULL;
    SPY_BLOCKING(rv, fn(h));
    if (rv < 0)
        return spy_raise(rv, o, NULL);
    if (as == 'N')
        Py_RETURN_NONE;
    return as == 'b' ? PyBool_FromLong(rv) : PyLong_FromLong(rv);
}

