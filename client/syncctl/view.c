/*
 * view.c: the inspection verbs (status, ls, show, clients, metrics).  Each
 * sends one inspection request through libsyncclient's internal call,
 * unpacks the raw ServerMessage it returns, follows `more` page by page,
 * and hands the decoded messages to the chosen output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "syncctl.h"

/* A page size well under the daemon's largest (INSPECT_PAGE). */
#define VIEW_PAGE 100

/* Decoded pages of a listing; each message owns the items it points to. */
struct view_pages {
    Syncd__ServerMessage **msgs; /* owned */
    size_t n_msgs;
    void **items; /* owned array, borrowed items */
    size_t n_items;
};

/* Keep the error reply's message, printable ASCII only (it is the
 * daemon's, but goes to a terminal). */
static void view_keep_detail(struct ctl *ctl, const struct sync__result *res)
{
    Syncd__ServerMessage *m;
    size_t i;

    if (res->raw == NULL ||
        (m = syncd__server_message__unpack(NULL, res->raw_len, res->raw)) ==
            NULL)
        return;
    if (m->msg_case == SYNCD__SERVER_MESSAGE__MSG_REPLY &&
        m->reply->message != NULL) {
        for (i = 0; m->reply->message[i] != '\0' &&
                    i + 1 < sizeof(ctl->detail);
             i++)
            ctl->detail[i] = m->reply->message[i] >= 0x20 &&
                                     m->reply->message[i] < 0x7f
                                 ? m->reply->message[i]
                                 : '?';
        ctl->detail[i] = '\0';
    }
    syncd__server_message__free_unpacked(m, NULL);
}

/* Send req; on success *out is the reply's ServerMessage (caller frees),
 * carrying the result `want`.  0 or SYNC_E*. */
static int view_call(struct ctl *ctl,
                     const struct sync__request *req,
                     Syncd__Reply__ResultCase want,
                     Syncd__ServerMessage **out)
{
    struct sync__result res;
    Syncd__ServerMessage *m;
    int rv;

    memset(&res, 0, sizeof(res));
    ctl->detail[0] = '\0';
    rv = sync__call(ctl->client, req, &res);
    if (rv != 0) {
        view_keep_detail(ctl, &res);
        free(res.raw);
        return rv;
    }
    if (res.raw == NULL)
        return SYNC_EPROTO;
    m = syncd__server_message__unpack(NULL, res.raw_len, res.raw);
    free(res.raw);
    if (m == NULL)
        return SYNC_EPROTO;
    if (m->msg_case != SYNCD__SERVER_MESSAGE__MSG_REPLY ||
        m->reply->result_case != want) {
        syncd__server_message__free_unpacked(m, NULL);
        return SYNC_EPROTO;
    }
    *out = m;
    return 0;
}

static void view_pages_free(struct view_pages *p)
{
    size_t i;

    for (i = 0; i < p->n_msgs; i++)
        syncd__server_message__free_unpacked(p->msgs[i], NULL);
    free(p->msgs);
    free(p->items);
    memset(p, 0, sizeof(*p));
}

/* Keep m and its n items v; 0 or SYNC_ENOMEM (m is freed then). */
static int view_pages_add(struct view_pages *p,
                          Syncd__ServerMessage *m,
                          void **v,
                          size_t n)
{
    Syncd__ServerMessage **msgs;
    void **items;

    msgs = realloc(p->msgs, (p->n_msgs + 1) * sizeof(*msgs));
    if (msgs != NULL)
        p->msgs = msgs;
    items = realloc(p->items, (p->n_items + n + 1) * sizeof(*items));
    if (items != NULL)
        p->items = items;
    if (msgs == NULL || items == NULL) {
        syncd__server_message__free_unpacked(m, NULL);
        return SYNC_ENOMEM;
    }
    p->msgs[p->n_msgs++] = m;
    if (n > 0)
        memcpy(p->items + p->n_items, v, n * sizeof(*v));
    p->n_items += n;
    return 0;
}

int view_status(struct ctl *ctl, const struct output *out)
{
    struct sync__request req = {.op = OP_STATUS};
    Syncd__ServerMessage *m;
    int rv;

    rv = view_call(ctl, &req, SYNCD__REPLY__RESULT_STATUS, &m);
    if (rv != 0)
        return ctl_fail(ctl, rv, "status", NULL);
    out->status(m->reply->status, ctl->socket, ctl->socket_why);
    syncd__server_message__free_unpacked(m, NULL);
    return 0;
}

/* The daemon's words s into buf, printable ASCII only (for a terminal). */
static void view_printable(const char *s, char *buf, size_t size)
{
    size_t i;

    for (i = 0; s != NULL && s[i] != '\0' && i + 1 < size; i++)
        buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    buf[i] = '\0';
}

int view_ls(struct ctl *ctl)
{
    struct sync__request req = {.op = OP_LIST_OBJECTS,
                                .limit = VIEW_PAGE,
                                .pattern = ctl->res->name};
    struct view_pages p = {0};
    Syncd__ServerMessage *m;
    Syncd__ObjectInfo *last;
    char *after = NULL, cluster_error[160] = "";
    bool more = true;
    int rv = 0;

    while (rv == 0 && more) {
        req.after_name = after;
        rv = view_call(ctl, &req, SYNCD__REPLY__RESULT_LIST, &m);
        if (rv != 0)
            break;
        more = m->reply->list->more && m->reply->list->n_objects > 0;
        if (cluster_error[0] == '\0')
            view_printable(m->reply->list->cluster_error, cluster_error,
                           sizeof(cluster_error));
        last = more ? m->reply->list->objects[m->reply->list->n_objects - 1]
                    : NULL;
        rv = view_pages_add(&p, m, (void **)m->reply->list->objects,
                            m->reply->list->n_objects);
        free(after);
        after = NULL;
        /* The next page starts after the last name of this one. */
        if (rv == 0 && last != NULL &&
            (after = strndup((const char *)last->name.data, last->name.len)) ==
                NULL)
            rv = SYNC_ENOMEM;
    }
    free(after);
    if (rv == 0)
        ctl->out->objects((Syncd__ObjectInfo *const *)p.items, p.n_items,
                          cluster_error[0] ? cluster_error : NULL);
    view_pages_free(&p);
    if (rv != 0)
        return ctl_fail(ctl, rv, "ls", NULL);
    /* Partial: the local objects were listed, the cluster ones not. */
    if (cluster_error[0] != '\0') {
        fprintf(stderr, "syncctl: ls: cluster/ objects not listed: %s\n",
                cluster_error);
        return ctl_exit_code(SYNC_EUNAVAIL);
    }
    return 0;
}

int view_show(struct ctl *ctl)
{
    struct sync__request req = {.op = OP_SHOW_OBJECT,
                                .name = ctl->res->name};
    Syncd__ServerMessage *m;
    int rv;

    rv = view_call(ctl, &req, SYNCD__REPLY__RESULT_OBJECT, &m);
    if (rv != 0)
        return ctl_fail(ctl, rv, "show", ctl->res->name);
    ctl->out->object(m->reply->object);
    syncd__server_message__free_unpacked(m, NULL);
    return 0;
}

void view_holder(struct ctl *ctl, const char *name, char *buf, size_t size)
{
    struct sync__request req = {.op = OP_SHOW_OBJECT, .name = name};
    Syncd__ServerMessage *m;
    const Syncd__Party *p;
    size_t i;

    buf[0] = '\0';
    if (view_call(ctl, &req, SYNCD__REPLY__RESULT_OBJECT, &m) != 0)
        return;
    if (m->reply->object->n_holders > 0 &&
        m->reply->object->holders[0]->host != NULL &&
        m->reply->object->holders[0]->host[0] != '\0') {
        /* A cluster/ lock: which host's agent serves its holder. */
        p = m->reply->object->holders[0];
        snprintf(buf, size, "pid %u on host ", p->pid);
        view_printable(p->host, buf + strlen(buf), size - strlen(buf));
        snprintf(buf + strlen(buf), size - strlen(buf), " (agent pid %u)",
                 p->agent_pid);
    } else if (m->reply->object->n_holders > 0) {
        p = m->reply->object->holders[0];
        snprintf(buf, size, "pid %u (", p->pid);
        /* The command name is the client's own words: printable only. */
        for (i = 0; p->client_name != NULL && p->client_name[i] != '\0' &&
                    strlen(buf) + 2 < size && i < 32;
             i++) {
            size_t len = strlen(buf);

            buf[len] = p->client_name[i] >= 0x20 && p->client_name[i] < 0x7f
                           ? p->client_name[i]
                           : '?';
            buf[len + 1] = '\0';
        }
        snprintf(buf + strlen(buf), size - strlen(buf), ")");
    }
    syncd__server_message__free_unpacked(m, NULL);
}

int view_clients(struct ctl *ctl)
{
    struct sync__request req = {.op = OP_LIST_CLIENTS, .limit = VIEW_PAGE};
    struct view_pages p = {0};
    Syncd__ServerMessage *m;
    Syncd__ClientsResult *l;
    bool more;
    int rv;

    do {
        rv = view_call(ctl, &req, SYNCD__REPLY__RESULT_CLIENTS, &m);
        if (rv != 0)
            break;
        l = m->reply->clients;
        more = l->more && l->n_clients > 0;
        if (l->n_clients > 0)
            req.after_id = l->clients[l->n_clients - 1]->session_id;
        rv = view_pages_add(&p, m, (void **)l->clients, l->n_clients);
    } while (rv == 0 && more);
    if (rv == 0)
        ctl->out->clients((Syncd__ClientInfo *const *)p.items, p.n_items);
    view_pages_free(&p);
    return rv == 0 ? 0 : ctl_fail(ctl, rv, "clients", NULL);
}
