/*
 * fuzz_syncctl_output.c: syncctl's handling of inspection replies.  The
 * input is one ServerMessage as the daemon would send it (without the
 * frame header): it is unpacked as syncctl's view.c does and, when it is a
 * status, list, object or clients reply, handed to every back end (text,
 * JSON, metrics).  A reply from a buggy or hostile daemon -- missing
 * sub-messages, absurd counts, names with NUL bytes or invalid UTF-8, op
 * counters past the ops syncctl knows -- must print something or nothing,
 * never crash, read out of bounds or leak.  stdout goes to /dev/null.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "output.h"
#include "syncd.pb-c.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (freopen("/dev/null", "w", stdout) == NULL)
        abort();
    return 0;
}

/* A back end leaves NULL what syncctl never asks it for (metrics: all but
 * status). */
static void show(const struct output *out, const Syncd__Reply *r)
{
    switch (r->result_case) {
    case SYNCD__REPLY__RESULT_STATUS:
        if (out->status)
            out->status(r->status, "/fuzz.sock", "fuzz");
        break;
    case SYNCD__REPLY__RESULT_LIST:
        if (out->objects)
            out->objects((Syncd__ObjectInfo *const *)r->list->objects,
                         r->list->n_objects,
                         r->list->cluster_error && r->list->cluster_error[0]
                             ? r->list->cluster_error
                             : NULL);
        break;
    case SYNCD__REPLY__RESULT_OBJECT:
        if (out->object)
            out->object(r->object);
        break;
    case SYNCD__REPLY__RESULT_CLIENTS:
        if (out->clients)
            out->clients((Syncd__ClientInfo *const *)r->clients->clients,
                     r->clients->n_clients);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Syncd__ServerMessage *m = syncd__server_message__unpack(NULL, size, data);

    if (m == NULL)
        return 0;
    if (m->msg_case == SYNCD__SERVER_MESSAGE__MSG_REPLY) {
        show(&text_output, m->reply);
        show(&json_output, m->reply);
        show(&metrics_output, m->reply);
        fflush(stdout);
    }
    syncd__server_message__free_unpacked(m, NULL);
    return 0;
}
