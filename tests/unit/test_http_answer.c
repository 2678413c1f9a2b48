/*
 * test_http_answer.c: the HTTP/1.1 answers etcd_loop.c reads from etcd's
 * gateway, fed whole and a byte at a time: framing by Content-Length, by
 * chunks and by the end of the stream, keep-alive, and what is refused.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/http_answer.h"

#define MAX_BODY 1024

/* Parse text as it would arrive whole (eof as given). */
static enum http_parse parse(const char *text, bool eof, struct http_answer *a,
                             char **keep)
{
    size_t len = strlen(text);
    char *buf = malloc(len + 1);

    memcpy(buf, text, len + 1);
    *keep = buf;
    return http_answer_parse(buf, len, eof, MAX_BODY, a);
}

/* Every proper prefix of text is HTTP_MORE (the stream still open), the
 * whole is HTTP_DONE with body. */
static void done_only_at_end(const char *text, const char *body,
                             bool keep_alive)
{
    size_t len = strlen(text), i;
    struct http_answer a;
    char *buf = malloc(len + 1);

    for (i = 0; i < len; i++) {
        memcpy(buf, text, len + 1);
        cr_assert_eq(http_answer_parse(buf, i, false, MAX_BODY, &a),
                     HTTP_MORE, "a prefix of %zu bytes of %zu", i, len);
    }
    memcpy(buf, text, len + 1);
    cr_assert_eq(http_answer_parse(buf, len, false, MAX_BODY, &a),
                 HTTP_DONE);
    cr_assert_eq(a.status, 200);
    cr_assert_eq(a.body_len, strlen(body));
    cr_assert_arr_eq(a.body, body, a.body_len);
    cr_assert_eq(a.keep_alive, keep_alive);
    free(buf);
}

/* Each of texts (the stream closed after it, or not) is HTTP_BAD. */
static void all_bad(const char *const *texts, size_t n, bool eof)
{
    struct http_answer a;
    size_t i;
    char *buf;

    for (i = 0; i < n; i++) {
        cr_assert_eq(parse(texts[i], eof, &a, &buf), HTTP_BAD, "%s",
                     texts[i]);
        free(buf);
    }
}

Test(http_answer, content_length_frames_the_body)
{
    done_only_at_end("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: 11\r\n\r\n{\"a\":\"bc\"}\n",
                     "{\"a\":\"bc\"}\n", true);
}

Test(http_answer, header_names_have_no_case)
{
    done_only_at_end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", "{}",
                     true);
}

Test(http_answer, chunks_are_joined)
{
    done_only_at_end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "4\r\n{\"a\"\r\nA\r\n:\"bcdefgh\"\r\n1\r\n}\r\n0\r\n\r\n",
                     "{\"a\":\"bcdefgh\"}", true);
}

Test(http_answer, chunk_trailers_are_skipped)
{
    done_only_at_end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "2\r\n{}\r\n0\r\nGrpc-Status: 0\r\n\r\n",
                     "{}", true);
}

Test(http_answer, connection_close_is_not_kept)
{
    done_only_at_end("HTTP/1.1 200 OK\r\nConnection: close\r\n"
                     "Content-Length: 2\r\n\r\n{}",
                     "{}", false);
}

Test(http_answer, an_error_status_is_an_answer)
{
    struct http_answer a;
    char *buf;

    cr_assert_eq(parse("HTTP/1.1 503 Service Unavailable\r\n"
                       "Content-Length: 14\r\n\r\n{\"code\":14,\"\"}",
                       false, &a, &buf),
                 HTTP_DONE);
    cr_assert_eq(a.status, 503);
    free(buf);
}

Test(http_answer, a_body_without_length_ends_with_the_stream)
{
    struct http_answer a;
    char *buf;

    cr_assert_eq(parse("HTTP/1.1 200 OK\r\n\r\n{\"x\":1}", false, &a, &buf),
                 HTTP_MORE);
    free(buf);
    cr_assert_eq(parse("HTTP/1.1 200 OK\r\n\r\n{\"x\":1}", true, &a, &buf),
                 HTTP_DONE);
    cr_assert_eq(a.body_len, 7);
    cr_assert_not(a.keep_alive);
    free(buf);
}

Test(http_answer, http_1_0_is_not_kept)
{
    struct http_answer a;
    char *buf;

    cr_assert_eq(parse("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
                       false, &a, &buf),
                 HTTP_DONE);
    cr_assert_not(a.keep_alive);
    free(buf);
}

Test(http_answer, bytes_past_the_answer_end_the_connection)
{
    struct http_answer a;
    char *buf;

    cr_assert_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP",
                       false, &a, &buf),
                 HTTP_DONE);
    cr_assert_eq(a.body_len, 2);
    cr_assert_not(a.keep_alive);
    free(buf);
}

Test(http_answer, bytes_past_a_chunked_answer_end_the_connection)
{
    struct http_answer a;
    char *buf;

    cr_assert_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "2\r\n{}\r\n0\r\n\r\nHTTP",
                       false, &a, &buf),
                 HTTP_DONE);
    cr_assert_eq(a.body_len, 2);
    cr_assert_arr_eq(a.body, "{}", 2);
    cr_assert_not(a.keep_alive);
    free(buf);
}

Test(http_answer, no_content_has_no_body)
{
    static const char *const heads[] = {
        "HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
    };
    struct http_answer a;
    char *buf;
    size_t i;

    for (i = 0; i < 2; i++) {
        cr_assert_eq(parse(heads[i], false, &a, &buf), HTTP_DONE, "%s",
                     heads[i]);
        cr_assert_eq(a.status, i == 0 ? 204 : 304);
        cr_assert_eq(a.body_len, 0);
        cr_assert(a.keep_alive);
        free(buf);
    }
}

Test(http_answer, tokens_are_whole_words)
{
    /* "xclose" is not "close"; a list holding "close" is. */
    done_only_at_end("HTTP/1.1 200 OK\r\nConnection: keep-xclose\r\n"
                     "Content-Length: 2\r\n\r\n{}",
                     "{}", true);
    done_only_at_end("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\n"
                     "Content-Length: 2\r\n\r\n{}",
                     "{}", false);
}

Test(http_answer, two_lengths_that_differ_are_bad)
{
    struct http_answer a;
    char *buf;

    cr_assert_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                       "Content-Length: 3\r\n\r\n{}x",
                       false, &a, &buf),
                 HTTP_BAD);
    free(buf);
    done_only_at_end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                     "Content-Length: 2\r\n\r\n{}",
                     "{}", true);
}

Test(http_answer, cut_short_is_bad)
{
    static const char *const cut[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",
        "HTTP/1.1 200 OK\r\nContent-Le",
        "",
    };

    all_bad(cut, sizeof(cut) / sizeof(cut[0]), true);
}

Test(http_answer, what_is_not_http_is_bad)
{
    static const char *const bad[] = {
        "SSH-2.0-OpenSSH_9.2\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n",
    };

    all_bad(bad, sizeof(bad) / sizeof(bad[0]), false);
}

Test(http_answer, a_body_over_the_limit_is_bad)
{
    struct http_answer a;
    char *buf;

    cr_assert_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 1025\r\n\r\n",
                       false, &a, &buf),
                 HTTP_BAD);
    free(buf);
    cr_assert_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: "
                       "99999999999999999999999\r\n\r\n",
                       false, &a, &buf),
                 HTTP_BAD);
    free(buf);
    cr_assert_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "401\r\n",
                       false, &a, &buf),
                 HTTP_BAD);
    free(buf);
}

Test(http_answer, endless_headers_are_bad)
{
    size_t len = 20000;
    char *buf = malloc(len);
    struct http_answer a;

    memset(buf, 'x', len);
    memcpy(buf, "HTTP/1.1 200 OK\r\nX: ", 20);
    cr_assert_eq(http_answer_parse(buf, len, false, MAX_BODY, &a), HTTP_BAD);
    free(buf);
}
