/*
 * test_conf_event.c: threading.Event ("Event Objects"), each promise as a
 * test, with threads sharing one client and with processes.  wait()'s
 * True / False are 0 / SYNC_ETIMEDOUT.
 */
#include <unistd.h>

#include "conf_util.h"

CONF_SUITE(event);

#define EV_W 4

struct ev {
    atomic_int trying; /* waiters about to block */
    atomic_int got;    /* waiters whose wait returned 0 */
    struct conf_chan step, go;
};

static struct ev *ev_new(void)
{
    struct ev *s = conf_shared(sizeof(*s));

    conf_chan_init(&s->step);
    conf_chan_init(&s->go);
    return s;
}

static void ev_free(struct ev *s)
{
    conf_chan_close(&s->step);
    conf_chan_close(&s->go);
}

static sync_event *ev_open(sync_client *c)
{
    sync_event *e = NULL;

    cr_assert(eq(int, sync_event_open(c, "E", &e), 0));
    return e;
}

/* ---- the flag --------------------------------------------------------- */

static int w_flag(sync_client *c, int idx, void *arg)
{
    struct ev *s = arg;
    sync_event *e;

    (void)idx;
    W_EQ(sync_event_open(c, "E", &e), 0);
    W_EQ(sync_event_is_set(e), 0);
    conf_chan_signal(&s->step, 1);
    W_EQ(conf_chan_await(&s->go, 10000), 1); /* the test set it */
    W_EQ(sync_event_is_set(e), 1);
    W_EQ(sync_event_set(e), 0); /* setting a set flag: still set */
    W_EQ(sync_event_is_set(e), 1);
    W_EQ(sync_event_clear(e), 0);
    W_EQ(sync_event_is_set(e), 0);
    W_EQ(sync_event_clear(e), 0);
    W_EQ(sync_event_is_set(e), 0);
    sync_event_close(e);
    return 0;
}

/*
 * "An event object manages an internal flag that can be set to true with
 * the set() method and reset to false with the clear() method."
 * "The internal flag is initially false."
 * "is_set(): Return True if and only if the internal flag is true."
 */
CONF_BOTH(event, flag_starts_false_set_and_clear_it, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_event *e = ev_open(c);
    struct ev *s = ev_new();
    struct conf_group *g = conf_spawn(mode, c, 1, w_flag, s);

    cr_assert(eq(int, conf_chan_await(&s->step, 10000), 1));
    cr_assert(eq(int, sync_event_set(e), 0));
    conf_chan_signal(&s->go, 1);
    conf_join(g, 10000);
    cr_assert(eq(int, sync_event_is_set(e), 0));
    ev_free(s);
    sync_event_close(e);
    sync_disconnect(c);
}

/* ---- wait ------------------------------------------------------------- */

static int w_wait(sync_client *c, int idx, void *arg)
{
    struct ev *s = arg;
    sync_event *e;

    (void)idx;
    W_EQ(sync_event_open(c, "E", &e), 0);
    atomic_fetch_add(&s->trying, 1);
    W_EQ(sync_event_wait(e, 10.0), 0);
    atomic_fetch_add(&s->got, 1);
    sync_event_close(e);
    return 0;
}

/* Start n waiters on E and let them block. */
static struct conf_group *start_waiters(enum conf_mode mode, sync_client *c,
                                        struct ev *s, int n)
{
    struct conf_group *g = conf_spawn(mode, c, n, w_wait, s);

    CONF_WAIT_UNTIL(atomic_load(&s->trying) == n, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, atomic_load(&s->got), 0), "wait did not block");
    return g;
}

/*
 * "The wait() method blocks until the flag is true."
 * "set(): Set the internal flag to true. All threads waiting for it to
 * become true are awakened."
 */
CONF_BOTH(event, set_wakes_every_waiter, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_event *e = ev_open(c);
    struct ev *s = ev_new();
    struct conf_group *g = start_waiters(mode, c, s, EV_W);

    cr_assert(eq(int, sync_event_set(e), 0));
    conf_join(g, 10000);
    cr_assert(eq(int, atomic_load(&s->got), EV_W));
    ev_free(s);
    sync_event_close(e);
    sync_disconnect(c);
}

/*
 * Every thread waiting when set() is called is awakened, even if the flag
 * is cleared again at once: set(): "All threads waiting for it to become
 * true are awakened."; wait() returns "True if returning because the
 * internal flag is set to true".
 */
CONF_BOTH(event, set_then_clear_still_wakes_the_waiters, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_event *e = ev_open(c);
    struct ev *s = ev_new();
    struct conf_group *g = start_waiters(mode, c, s, 3);

    cr_assert(eq(int, sync_event_set(e), 0));
    cr_assert(eq(int, sync_event_clear(e), 0));
    conf_join(g, 10000);
    cr_assert(eq(int, atomic_load(&s->got), 3));
    cr_assert(eq(int, sync_event_is_set(e), 0));
    ev_free(s);
    sync_event_close(e);
    sync_disconnect(c);
}

static int w_no_block(sync_client *c, int idx, void *arg)
{
    sync_event *e;
    double t0;

    (void)idx;
    (void)arg;
    W_EQ(sync_event_open(c, "E", &e), 0);
    t0 = fx_now();
    W_EQ(sync_event_wait(e, -1), 0);
    W_EQ(sync_event_wait(e, 5.0), 0);
    W_EQ(sync_event_wait(e, 0), 0);
    W_TRUE(fx_now() - t0 < CONF_PROMPT_S);
    sync_event_close(e);
    return 0;
}

/*
 * "Threads that call wait() once the flag is true will not block at all."
 */
CONF_BOTH(event, wait_on_a_set_flag_does_not_block, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_event *e = ev_open(c);

    cr_assert(eq(int, sync_event_set(e), 0));
    conf_join(conf_spawn(mode, c, 2, w_no_block, NULL), 10000);
    sync_event_close(e);
    sync_disconnect(c);
}

static int w_timeout(sync_client *c, int idx, void *arg)
{
    struct ev *s = arg;
    sync_event *e;
    double t0, dt;

    (void)idx;
    W_EQ(sync_event_open(c, "E", &e), 0);
    t0 = fx_now();
    W_EQ(sync_event_wait(e, 0.25), SYNC_ETIMEDOUT);
    dt = fx_now() - t0;
    W_TRUE(dt >= 0.25 && dt < 0.25 + CONF_LATE_S);
    t0 = fx_now();
    W_EQ(sync_event_wait(e, 0), SYNC_ETIMEDOUT);
    W_TRUE(fx_now() - t0 < CONF_PROMPT_S);
    atomic_store(&s->trying, 1);
    t0 = fx_now();
    W_EQ(sync_event_wait(e, 8.0), 0);
    W_TRUE(fx_now() - t0 < 6.0);
    sync_event_close(e);
    return 0;
}

/*
 * "wait(timeout=None): Block as long as the internal flag is false and the
 * timeout, if given, has not expired. The return value represents the
 * reason that this blocking method returned; True if returning because the
 * internal flag is set to true, or False if a timeout is given and the
 * internal flag did not become true within the given wait time."
 */
CONF_BOTH(event, wait_timeout_and_its_return_value, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_event *e = ev_open(c);
    struct ev *s = ev_new();
    struct conf_group *g = conf_spawn(mode, c, 1, w_timeout, s);

    CONF_WAIT_UNTIL(atomic_load(&s->trying) == 1, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, sync_event_set(e), 0));
    conf_join(g, 10000);
    ev_free(s);
    sync_event_close(e);
    sync_disconnect(c);
}

static int w_after_clear(sync_client *c, int idx, void *arg)
{
    struct ev *s = arg;
    sync_event *e;
    double t0;

    (void)idx;
    W_EQ(sync_event_open(c, "E", &e), 0);
    t0 = fx_now();
    W_EQ(sync_event_wait(e, 0.2), SYNC_ETIMEDOUT);
    W_TRUE(fx_now() - t0 >= 0.2);
    atomic_store(&s->trying, 1);
    W_EQ(sync_event_wait(e, 8.0), 0);
    atomic_store(&s->got, 1);
    sync_event_close(e);
    return 0;
}

/*
 * "clear(): Reset the internal flag to false. Subsequently, threads
 * calling wait() will block until set() is called to set the internal flag
 * to true again."
 */
CONF_BOTH(event, clear_makes_wait_block_until_set_again, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_event *e = ev_open(c);
    struct ev *s = ev_new();
    struct conf_group *g;

    cr_assert(eq(int, sync_event_set(e), 0));
    cr_assert(eq(int, sync_event_clear(e), 0));
    g = conf_spawn(mode, c, 1, w_after_clear, s);
    CONF_WAIT_UNTIL(atomic_load(&s->trying) == 1, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, atomic_load(&s->got), 0));
    cr_assert(eq(int, sync_event_set(e), 0));
    conf_join(g, 10000);
    cr_assert(eq(int, sync_event_is_set(e), 1));
    ev_free(s);
    sync_event_close(e);
    sync_disconnect(c);
}
