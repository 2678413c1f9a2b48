/*
 * intr.c: interruptible waits.  A thread may register a check
 * (sync_set_interrupt_check); while one of its calls waits in the daemon
 * (acquire, event/condition/barrier wait), a signal that interrupts it,
 * or every SYNC__INTR_POLL_MS while another thread reads the connection,
 * runs the check, and when it says so the client sends a Cancel for that
 * request.  The daemon ends the wait as a timeout ends it, so the call
 * still gets exactly one answer: the grant, if it raced the Cancel, or
 * the end of the wait, which the caller sees as SYNC_EINTR.
 */
#include "internal.h"

static __thread bool (*intr_check)(void *arg);
static __thread void *intr_arg;

void sync_set_interrupt_check(bool (*check)(void *arg), void *arg)
{
    intr_check = check;
    intr_arg = check != NULL ? arg : NULL;
}

static bool intr_op_waits(const struct sync__request *req)
{
    switch (req->op) {
    case OP_ACQUIRE:
        return req->timeout_us != 0;
    case OP_EVENT_WAIT:
    case OP_COND_WAIT:
    case OP_BARRIER_WAIT:
        return true;
    default:
        return false;
    }
}

void sync__intr_attach(struct sync__call *call,
                       const struct sync__request *req)
{
    call->intr = NULL;
    call->cancelled = false;
    if (intr_check != NULL && intr_op_waits(req)) {
        call->intr = intr_check;
        call->intr_arg = intr_arg;
    }
}

void sync__intr_poll(sync_client *c, struct sync__call *call)
{
    struct sync__request req = {.op = OP_CANCEL, .cancel_id = call->id};
    uint8_t frame[64];
    uint64_t id;
    size_t n;

    if (call->cancelled || !call->intr(call->intr_arg))
        return;
    call->cancelled = true;
    /* The Cancel's own answer matches no call in flight and is dropped:
     * the wait's answer is what the caller waits for. */
    pthread_mutex_lock(&c->mu);
    id = ++c->next_id;
    pthread_mutex_unlock(&c->mu);
    n = sync__wire_encode(&req, id, frame, sizeof(frame));
    /* A failed write means the connection is gone: the reader sees EOF
     * and every call ends with SYNC_ECONN. */
    if (n > 0)
        (void)sync__write_frame(c, frame, n);
}

int sync__intr_code(const struct sync__call *call, enum wire_op op)
{
    /* Granted before the Cancel arrived: the caller holds it and decides
     * (Python's binding releases it, then raises). */
    if (call->code == 0)
        return 0;
    if (call->code == SYNC_ETIMEDOUT ||
        (op == OP_BARRIER_WAIT && call->code == SYNC_EBROKEN))
        return SYNC_EINTR;
    return call->code;
}
