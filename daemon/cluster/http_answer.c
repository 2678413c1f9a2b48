/*
 * http_answer.c: see http_answer.h.  Only what a client of one server
 * needs: no 1xx answers (the requests never say "Expect"), no trailers
 * kept, header names compared without case.
 */
/* memmem: _GNU_SOURCE comes from the build */
#include "cluster/http_answer.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Does the header line [p, end) have this name?  Its value then. */
static const char *http_header_value(const char *p, const char *end,
                                     const char *name)
{
    size_t n = strlen(name);

    if ((size_t)(end - p) <= n || strncasecmp(p, name, n) != 0 ||
        p[n] != ':')
        return NULL;
    p += n + 1;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Does [start, end) hold word (no case) as a whole token? */
static bool http_has_token(const char *start, const char *end,
                           const char *word)
{
    size_t n = strlen(word);
    const char *p;

    for (p = start; (size_t)(end - p) >= n; p++)
        if (strncasecmp(p, word, n) == 0 &&
            (p == start || !isalnum((unsigned char)p[-1])) &&
            ((size_t)(end - p) == n || !isalnum((unsigned char)p[n])))
            return true;
    return false;
}

/* A decimal or hex number at [p, end), up to the first character that is
 * not a digit; -1 if none or over max. */
static long long http_number(const char *p, const char *end, int base,
                             long long max)
{
    long long v = 0;
    int d, digits = 0;

    for (; p < end; p++, digits++) {
        if (isdigit((unsigned char)*p))
            d = *p - '0';
        else if (base == 16 && isxdigit((unsigned char)*p))
            d = tolower((unsigned char)*p) - 'a' + 10;
        else
            break;
        if (v > (max - d) / base)
            return -1;
        v = v * base + d;
    }
    return digits > 0 ? v : -1;
}

/*
 * Walk the chunks from body; HTTP_DONE with the joined length in *out_len
 * and the bytes of avail they took in *used once the last chunk and the
 * blank line after it (trailers skipped) are there, joining them in place
 * only when join.
 */
static enum http_parse http_chunks(char *body, size_t avail, size_t max_body,
                                   bool join, size_t *out_len, size_t *used)
{
    size_t at = 0, joined = 0;
    long long size;
    char *eol, *end;

    for (;;) {
        eol = memmem(body + at, avail - at, "\r\n", 2);
        if (eol == NULL)
            return avail - at > 64 ? HTTP_BAD : HTTP_MORE;
        size = http_number(body + at, eol, 16, (long long)max_body);
        if (size < 0 || joined + (size_t)size > max_body)
            return HTTP_BAD;
        at = (size_t)(eol - body) + 2;
        if (size == 0)
            break;
        if (avail - at < (size_t)size + 2)
            return HTTP_MORE;
        if (memcmp(body + at + size, "\r\n", 2) != 0)
            return HTTP_BAD;
        if (join)
            memmove(body + joined, body + at, (size_t)size);
        joined += (size_t)size;
        at += (size_t)size + 2;
    }
    /* Trailers, if any, then a blank line. */
    if (avail - at >= 2 && memcmp(body + at, "\r\n", 2) == 0)
        end = body + at + 2;
    else if ((end = memmem(body + at, avail - at, "\r\n\r\n", 4)) != NULL)
        end += 4;
    if (end == NULL)
        return HTTP_MORE;
    *out_len = joined;
    *used = (size_t)(end - body);
    return HTTP_DONE;
}

enum http_parse http_answer_parse(char *buf, size_t len, bool eof,
                                  size_t max_body, struct http_answer *a)
{
    char *head_end = memmem(buf, len, "\r\n\r\n", 4), *p, *eol, *body;
    long long length = -1;
    bool chunked = false, close = false, http10;
    size_t avail, joined, used;
    enum http_parse r;

    if (head_end == NULL)
        return len > 16384 || eof ? HTTP_BAD : HTTP_MORE;
    if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
        return HTTP_BAD;
    http10 = buf[7] == '0';
    a->status = (int)http_number(buf + 9, head_end, 10, 999);
    if (a->status < 200) /* no 1xx: nothing here asks for one */
        return HTTP_BAD;
    for (p = memmem(buf, len, "\r\n", 2) + 2; p < head_end; p = eol + 2) {
        const char *v;

        eol = memmem(p, (size_t)(head_end + 2 - p), "\r\n", 2);
        if ((v = http_header_value(p, eol, "Content-Length")) != NULL) {
            long long n = http_number(v, eol, 10, (long long)max_body);

            if (n < 0 || (length >= 0 && n != length)) /* or two that differ */
                return HTTP_BAD;
            length = n;
        } else if ((v = http_header_value(p, eol, "Transfer-Encoding")) !=
                   NULL) {
            chunked = http_has_token(v, eol, "chunked");
        } else if ((v = http_header_value(p, eol, "Connection")) != NULL) {
            close = http_has_token(v, eol, "close");
        }
    }
    body = head_end + 4;
    avail = len - (size_t)(body - buf);
    a->keep_alive = !close && !http10;
    if (a->status == 204 || a->status == 304) /* never a body */
        length = 0;
    else if (chunked) {
        r = http_chunks(body, avail, max_body, false, &joined, &used);
        if (r == HTTP_DONE)
            http_chunks(body, avail, max_body, true, &joined, &used);
        else
            return r == HTTP_MORE && eof ? HTTP_BAD : r;
        /* Bytes past the answer were never asked for: end the connection. */
        if (used < avail)
            a->keep_alive = false;
        a->body = body;
        a->body_len = joined;
        return HTTP_DONE;
    }
    if (length >= 0) {
        if (avail < (size_t)length)
            return eof ? HTTP_BAD : HTTP_MORE;
        /* Bytes past the answer were never asked for: end the connection. */
        if (avail > (size_t)length)
            a->keep_alive = false;
        a->body = body;
        a->body_len = (size_t)length;
        return HTTP_DONE;
    }
    /* Neither: the body runs to the end of the stream. */
    if (avail > max_body)
        return HTTP_BAD;
    if (!eof)
        return HTTP_MORE;
    a->body = body;
    a->body_len = avail;
    a->keep_alive = false;
    return HTTP_DONE;
}
