/*
 * test_store_batch.c: under --fsync always, the records of one change
 * made of several (a semaphore's value and a client's undo permits) are
 * committed together between store_batch_begin and _end, so a kill -9
 * can never land between them (the restart chaos test under `always`
 * found a semaphore with one permit too many that way: the ledger's
 * commit, then the value's).  The state file is real (SQLite in a
 * temporary directory); the loop only closes the store's timer.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "grace.h"
#include "objects/semaphore.h"
#include "registry.h"
#include "store.h"
#include "syncclient.h"

static uv_loop_t loop;
static struct registry reg;
static struct grace grace;
static struct store st;
static char dir[] = "/tmp/syncd-store-XXXXXX";

static void open_store(void)
{
    registry_init(&reg, 100, SYNC_NAME_MAX);
    grace_init(&grace, &reg);
    cr_assert(eq(int, store_open(&st, dir, STORE_FSYNC_ALWAYS, 100, &loop,
                                 &reg, &grace), 0));
}

static void close_store(void)
{
    store_close(&st);
    grace_close(&grace);
    uv_run(&loop, UV_RUN_DEFAULT);
    grace_fini(&grace);
    registry_fini(&reg);
}

static void setup(void)
{
    cr_assert(ne(ptr, mkdtemp(dir), NULL));
    cr_assert(eq(int, uv_loop_init(&loop), 0));
    open_store();
}

static void teardown(void)
{
    char cmd[64];

    uv_loop_close(&loop);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)!system(cmd);
}

TestSuite(store_batch, .init = setup, .fini = teardown);

Test(store_batch, a_change_of_two_records_is_one_commit_under_always)
{
    static const uint8_t id[16] = {1, 2, 3};
    struct object_spec spec = {.type = OBJECT_BOUNDED_SEMAPHORE, .value = 3,
                               .mode = 0600};
    struct semaphore *s;
    struct object *o;
    uint64_t c0;
    bool created;

    cr_assert(eq(int, registry_open(&reg, "gpus", &spec, &o, &created), 0));
    s = semaphore_from_object(o);
    store_note(&st, o);
    c0 = st.commits;

    /* A grant through an undo handle, nested as dispatch nests them. */
    store_batch_begin(&st);
    store_batch_begin(&st);
    s->value--;
    s->undo_out++;
    s->undo_kept++;
    store_permits_changed(&st, o, id, 1);
    store_note(&st, o);
    cr_assert(eq(u64, st.commits, c0), "committed inside the batch");
    store_batch_end(&st);
    cr_assert(eq(u64, st.commits, c0), "committed at an inner end");
    store_batch_end(&st);
    cr_assert(eq(u64, st.commits, c0 + 1), "one commit at the outer end");
    /* Outside a batch each record is its own commit, as before. */
    store_note(&st, o);
    cr_assert(eq(u64, st.commits, c0 + 2));
    /* An empty batch commits nothing. */
    store_batch_begin(&st);
    store_batch_end(&st);
    cr_assert(eq(u64, st.commits, c0 + 2));
    registry_rele(&reg, o);
    close_store();

    /* What the file says: 2 free, 1 kept for the client - 3 in all. */
    open_store();
    o = registry_lookup(&reg, "gpus");
    cr_assert(ne(ptr, o, NULL));
    s = semaphore_from_object(o);
    cr_assert(eq(u32, st.permits_loaded, 1));
    cr_assert(eq(u32, s->value, 2));
    cr_assert(eq(u32, s->undo_kept, 1));
    close_store();
}
