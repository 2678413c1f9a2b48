/*
 * fuzz_http_answer.c: the HTTP/1.1 reader of etcd_loop.c (http_answer.c)
 * on any bytes an etcd member, or something posing as one, could send.
 * Each input is parsed whole, open and at its end, and at every prefix,
 * as a connection would see it arrive.  Invariants: an answer lies within
 * the bytes given and within the body limit; the end of the stream never
 * leaves it wanting more; once a prefix is a whole answer, the answer
 * framed by a length does not change as bytes follow it.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/http_answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_BODY_MAX 4096

static enum http_parse parse_copy(const uint8_t *data, size_t len, bool eof,
                                  struct http_answer *a, char **copy)
{
    char *buf = malloc(len + 1);
    enum http_parse r;

    assert(buf != NULL);
    memcpy(buf, data, len);
    buf[len] = '\0';
    r = http_answer_parse(buf, len, eof, FUZZ_BODY_MAX, a);
    assert(r == HTTP_MORE || r == HTTP_DONE || r == HTTP_BAD);
    if (r == HTTP_DONE) {
        assert(a->status >= 200 && a->status <= 999);
        assert(a->body >= buf && a->body + a->body_len <= buf + len);
        assert(a->body_len <= FUZZ_BODY_MAX);
    }
    if (eof)
        assert(r != HTTP_MORE);
    *copy = buf;
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_answer a, first;
    char *buf, *first_buf = NULL;
    size_t i;
    int eof;

    if (size > 8192)
        return 0;
    for (eof = 0; eof < 2; eof++) {
        (void)parse_copy(data, size, eof, &a, &buf);
        free(buf);
    }
    for (i = 0; i <= size; i++) {
        enum http_parse r = parse_copy(data, i, false, &a, &buf);

        if (r == HTTP_DONE && first_buf == NULL && a.keep_alive) {
            first = a;
            first_buf = buf;
            continue;
        }
        /* A kept-alive answer (framed by its length or its chunks) is
         * the same answer whatever follows it. */
        if (first_buf != NULL) {
            assert(r == HTTP_DONE);
            assert(a.status == first.status);
            assert(a.body_len == first.body_len);
            assert(memcmp(a.body, first.body, a.body_len) == 0);
        }
        free(buf);
    }
    free(first_buf);
    return 0;
}
