/*
 * output.c: names and state words every back end shares, so text, JSON
 * and metrics never disagree on what to call a type, an op or a state.
 */
#include "output.h"
#include "wire.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* Decode one UTF-8 sequence at p (n bytes left): its length and *cp, or 0
 * when malformed (overlong, surrogate, above U+10FFFF, cut short). */
static size_t output_utf8(const unsigned char *p, size_t n, wchar_t *cp)
{
    static const unsigned char lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len, i;
    unsigned v;

    len = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2
        : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    v = p[0] & lead_mask[len];
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = (wchar_t)v;
    return len;
}

const char *output_escape(const void *s, size_t n, char *buf, size_t size,
                          int *width)
{
    const unsigned char *p = s;
    size_t i = 0, o = 0, len;
    int cols = 0, w;
    wchar_t cp;

    while (i < n) {
        cp = 0;
        len = output_utf8(p + i, n - i, &cp);
        /* wcwidth needs a UTF-8 LC_CTYPE (main sets C.UTF-8 if needed). */
        w = len > 0 ? wcwidth(cp) : -1;
        if (w < 0 || cp == L'\\') {
            char esc[8];

            if (len > 0 && cp == L'\\')
                snprintf(esc, sizeof(esc), "\\\\");
            else
                snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
            if (o + strlen(esc) >= size)
                break;
            memcpy(buf + o, esc, strlen(esc));
            o += strlen(esc);
            cols += (int)strlen(esc);
            i += 1;
            continue;
        }
        if (o + len >= size)
            break;
        memcpy(buf + o, p + i, len);
        o += len;
        i += len;
        cols += w;
    }
    buf[o] = '\0';
    if (width != NULL)
        *width = cols;
    return buf;
}

const char *output_type_name(int type)
{
    switch (type) {
        case SYNCD__OBJECT_TYPE__LOCK:
            return "lock";
        case SYNCD__OBJECT_TYPE__RLOCK:
            return "rlock";
        case SYNCD__OBJECT_TYPE__SEMAPHORE:
            return "semaphore";
        case SYNCD__OBJECT_TYPE__BOUNDED_SEMAPHORE:
            return "bsemaphore";
        case SYNCD__OBJECT_TYPE__EVENT:
            return "event";
        case SYNCD__OBJECT_TYPE__CONDITION:
            return "condition";
        case SYNCD__OBJECT_TYPE__BARRIER:
            return "barrier";
        default:
            return "unknown";
    }
}

const char *output_op_name(size_t i)
{
    return i <= UINT32_MAX ? wire_op_name((uint32_t)i) : NULL;
}

bool output_is_lockish(int type)
{
    return type == SYNCD__OBJECT_TYPE__LOCK ||
           type == SYNCD__OBJECT_TYPE__RLOCK ||
           type == SYNCD__OBJECT_TYPE__CONDITION;
}

bool output_is_sem(int type)
{
    return type == SYNCD__OBJECT_TYPE__SEMAPHORE ||
           type == SYNCD__OBJECT_TYPE__BOUNDED_SEMAPHORE;
}

void output_state(const Syncd__ObjectInfo *o, char *buf, size_t size)
{
    switch (o->type) {
        case SYNCD__OBJECT_TYPE__LOCK:
        case SYNCD__OBJECT_TYPE__RLOCK:
            /* Lent to a client (lock caching): its page tells held from
             * free. */
            snprintf(buf, size, "%s",
                     o->cached == 2  ? "held (cached)"
                     : o->cached == 1 ? "cached, free"
                     : o->value != 0  ? "locked"
                                      : "free");
            break;
        case SYNCD__OBJECT_TYPE__CONDITION:
            /* A condition's value counts its waiters; its state is its lock's.
             */
            snprintf(buf, size, "%s",
                     o->cached == 2   ? "held (cached)"
                     : o->cached == 1 ? "cached, free"
                     : o->n_holders > 0 ? "locked"
                                        : "free");
            break;
        case SYNCD__OBJECT_TYPE__SEMAPHORE:
            snprintf(buf, size, "value %lld", (long long)o->value);
            break;
        case SYNCD__OBJECT_TYPE__BOUNDED_SEMAPHORE:
            snprintf(buf, size, "value %lld/%u", (long long)o->value, o->bound);
            break;
        case SYNCD__OBJECT_TYPE__EVENT:
            snprintf(buf, size, "%s", o->value != 0 ? "set" : "clear");
            break;
        case SYNCD__OBJECT_TYPE__BARRIER:
            snprintf(buf, size, "%u/%u%s", o->n_waiting, o->parties,
                     o->broken ? " broken" : "");
            break;
        default:
            snprintf(buf, size, "value %lld", (long long)o->value);
            break;
    }
}
