/*
 * http_answer.h: an HTTP/1.1 response read from a byte stream, as etcd's
 * JSON gateway (Go's net/http) sends them: a status line, headers, and a
 * body framed by Content-Length, by chunks, or by the end of the stream.
 * Pure (no I/O): etcd_loop.c feeds it what its connection has read so far.
 */
#ifndef SYNCD_HTTP_ANSWER_H
#define SYNCD_HTTP_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

struct http_answer {
    int status;        /* e.g. 200 */
    char *body;        /* inside the buffer given */
    size_t body_len;
    bool keep_alive;   /* the connection may carry the next request */
};

enum http_parse { HTTP_MORE = 0, HTTP_DONE = 1, HTTP_BAD = -1 };

/*
 * Is buf[0..len) a whole answer?  eof: the peer has closed the stream (an
 * answer without a length ends there).  HTTP_DONE fills *a; a chunked body
 * is joined in place, so buf changes then.  HTTP_BAD: not HTTP, or a body
 * over max_body bytes.  HTTP_MORE: read on (at eof: cut short, so bad).
 */
enum http_parse http_answer_parse(char *buf, size_t len, bool eof,
                                  size_t max_body, struct http_answer *a);

#endif
