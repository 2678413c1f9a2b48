/*
 * syncd_py.h: what the files of the C extension syncd._syncd share.  The
 * extension maps Python arguments, errors and the GIL onto libsyncclient;
 * the semantics live in the daemon and the C library.  One sync_client per
 * process is shared by every object (a Lock belongs to the connection, as
 * a threading.Lock belongs to the process); after fork() the child
 * connects anew and each object re-opens its name on first use.
 */
#ifndef SYNCD_PY_H
#define SYNCD_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "syncclient.h"

enum spy_kind {
    SPY_LOCK,
    SPY_RLOCK,
    SPY_COND,
    SPY_SEM,
    SPY_BSEM,
    SPY_EVENT,
    SPY_BARRIER,
};

/* Every syncd object: its identity (name and creation parameters, enough
 * to open it again in another process) and its handle in this process. */
struct spy_obj {
    PyObject_HEAD
    PyObject *weakrefs;
    enum spy_kind kind;
    PyObject *name;        /* owned: str; NULL until an anonymous object
                              is first opened */
    const char *cname;     /* borrowed (owner: name): its UTF-8 */
    bool anonymous;        /* made without a name: libsyncclient generated
                              one; the daemon drops it with the last handle
                              anywhere */
    unsigned value;        /* semaphore initial value, barrier parties */
    bool undo;             /* semaphores: opened with SYNC_SEM_UNDO (the
                              daemon gives back what this process's
                              handle holds when it dies) */
    struct spy_obj *lock;  /* owned: a Condition's Lock/RLock, or NULL */
    void *h;               /* owned: sync_lock * etc.; NULL before open */
    unsigned long gen;     /* connection generation h belongs to */
    bool closed;           /* close() was called */
};

extern PyTypeObject spy_lock_type, spy_rlock_type, spy_cond_type,
    spy_sem_type, spy_bsem_type, spy_event_type, spy_barrier_type;
extern PyObject *spy_error, *spy_deadlock_error, *spy_connection_error,
    *spy_broken_barrier_error;
extern double spy_timeout_max;
/* The connection generation: a handle (and what this process saw it
 * hold) from an older one belongs to a parent process or a dropped
 * connection. */
extern unsigned long spy_gen;

/* The handle of o, (re)opening it when it belongs to an older
 * connection (after fork() or connect()); NULL with an exception set. */
void *spy_handle(struct spy_obj *o);
/* Raise the Python exception for a SYNC_E* code; perm_msg is the
 * RuntimeError text for SYNC_EPERM (NULL: a generic one).  Returns NULL. */
PyObject *spy_raise(int code, struct spy_obj *o, const char *perm_msg);
/* Call fn(h): None ('N'), a bool ('b') or an int ('i') from its
 * non-negative result; a negative one raises. */
PyObject *spy_call_int(PyObject *self, int (*fn)(void *), int as);
#define SPY_CALL(self, fn, as) spy_call_int(self, (int (*)(void *))(fn), as)

/* Timeout conventions (threading's), parsed from Python objects. */
/* Lock/RLock acquire(blocking=True, timeout=-1). */
int spy_parse_lock_args(PyObject *const *args, Py_ssize_t nargs,
                        PyObject *kwnames, bool *blocking, double *timeout);
/* Semaphore acquire(blocking=True, timeout=None): *blocking false for a
 * try; *timeout negative for forever. */
int spy_parse_sem_args(PyObject *const *args, Py_ssize_t nargs,
                       PyObject *kwnames, bool *blocking, double *timeout);
/* A wait(timeout=None): None is forever (-1), <= 0 does not block (0). */
int spy_parse_wait_timeout(PyObject *obj, double *timeout);
/* Fetch up to max arguments, positionally or by keyword, into out[]
 * (left untouched when absent); 0 or -1 with TypeError. */
int spy_args(const char *fname, const char *const *kw, int max,
             PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
             PyObject **out);

/* Common type slots. */
int spy_obj_init_common(struct spy_obj *o, enum spy_kind kind,
                        PyObject *name);
void spy_obj_dealloc(PyObject *self);
extern PyGetSetDef spy_common_getset[];
PyObject *spy_close_method(PyObject *self, PyObject *unused);

/*
 * A wait that Ctrl-C (any signal whose Python handler raises) interrupts,
 * as CPython's own lock waits are: in the main thread, a signal makes
 * libsyncclient run spy_intr_check, which runs the Python handlers; when
 * one raises, the daemon cancels the wait and `raised` is set (the
 * exception is pending in this thread).  The caller gives back whatever
 * the wait got if it was granted anyway, and returns NULL.
 */
struct spy_wait {
    PyThreadState *ts;
    bool main;   /* the main thread: the only one Python signals reach */
    bool raised; /* a signal handler raised: return NULL */
};
void spy_wait_begin(struct spy_wait *w);
void spy_wait_end(struct spy_wait *w);
#define SPY_WAIT(w, rv, call)                                                 \
    do {                                                                      \
        spy_wait_begin(&(w));                                                 \
        (rv) = (call);                                                        \
        spy_wait_end(&(w));                                                   \
    } while (0)

/* A blocking C call with the GIL released. */
#define SPY_BLOCKING(rv, call)                                                \
    do {                                                                      \
        Py_BEGIN_ALLOW_THREADS(rv) = (call);                                  \
        Py_END_ALLOW_THREADS                                                  \
    } while (0)

int spy_traverse(PyObject *self, visitproc visit, void *arg);
int spy_clear(PyObject *self);
/* PyType_Ready t, give it the common attributes, add it to m as name. */
int spy_add_type(PyObject *m, PyTypeObject *t, const char *name);

#define SPY_FAST (METH_FASTCALL | METH_KEYWORDS)
#define SPY_METH(name, fn, flags, doc)                                        \
    {name, (PyCFunction)(void (*)(void))(fn), flags, doc}

/* A static type over struct spy_obj. */
#define SPY_TYPE(var, tpname, doc, init, methods, getset)                     \
    PyTypeObject var = {                                                      \
        PyVarObject_HEAD_INIT(NULL, 0).tp_name = tpname,                      \
        .tp_basicsize = sizeof(struct spy_obj),                               \
        .tp_dealloc = spy_obj_dealloc,                                        \
        .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE |                \
                    Py_TPFLAGS_HAVE_GC,                                       \
        .tp_doc = doc,                                                        \
        .tp_traverse = spy_traverse,                                          \
        .tp_clear = spy_clear,                                                \
        .tp_weaklistoffset = offsetof(struct spy_obj, weakrefs),              \
        .tp_methods = methods,                                                \
        .tp_getset = getset,                                                  \
        .tp_init = init,                                                      \
        .tp_alloc = PyType_GenericAlloc,                                      \
        .tp_new = PyType_GenericNew,                                          \
        .tp_free = PyObject_GC_Del,                                           \
    }

int spy_lockable_types_ready(PyObject *m);
/* bench/python_bench.py: the C library's own Lock pair time. */
PyObject *spy_c_lock_pairs(PyObject *mod, PyObject *args);
int spy_other_types_ready(PyObject *m);

#endif
