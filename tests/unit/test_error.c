/*
 * test_error.c: the error table (proto/error.c over SYNC_ERRNO_MAP): every
 * code has a distinct name and message, codes are negative and unique.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <string.h>

#include "error.h"
#include "syncclient.h"

struct code_info {
    int code;
    int num;
    const char *name;
    const char *msg;
};

static const struct code_info codes[] = {
#define CODE_INFO(name, num, msg) {SYNC_##name, num, "SYNC_" #name, msg},
    SYNC_ERRNO_MAP(CODE_INFO)
#undef CODE_INFO
};

#define N_CODES (sizeof(codes) / sizeof(codes[0]))

/* What sync_strerror/sync_errname answer for a number not in the map. */
#define UNKNOWN_MSG "unknown error"
#define UNKNOWN_NAME "SYNC_EUNKNOWN"

Test(error, map_is_not_empty)
{
    cr_assert(ge(sz, N_CODES, 19));
}

Test(error, codes_are_negative_and_match_their_number)
{
    size_t i;

    for (i = 0; i < N_CODES; i++) {
        cr_assert(lt(int, codes[i].code, 0), "%s", codes[i].name);
        cr_assert(eq(int, codes[i].code, -codes[i].num), "%s", codes[i].name);
    }
}

Test(error, codes_are_unique)
{
    size_t i, j;

    for (i = 0; i < N_CODES; i++)
        for (j = i + 1; j < N_CODES; j++)
            cr_assert(ne(int, codes[i].code, codes[j].code), "%s and %s",
                      codes[i].name, codes[j].name);
}

Test(error, every_code_has_its_message)
{
    size_t i;

    for (i = 0; i < N_CODES; i++) {
        const char *m = sync_strerror(codes[i].code);

        cr_assert(ne(ptr, (void *)m, NULL));
        cr_assert(eq(str, (char *)m, (char *)codes[i].msg), "%s",
                  codes[i].name);
        cr_assert(ne(str, (char *)m, UNKNOWN_MSG), "%s", codes[i].name);
        cr_assert(ne(str, (char *)m, "success"), "%s", codes[i].name);
        cr_assert(gt(sz, strlen(m), 0));
    }
}

Test(error, every_code_has_its_name)
{
    size_t i;

    for (i = 0; i < N_CODES; i++) {
        const char *n = sync_errname(codes[i].code);

        cr_assert(ne(ptr, (void *)n, NULL));
        cr_assert(eq(str, (char *)n, (char *)codes[i].name));
        cr_assert(ne(str, (char *)n, UNKNOWN_NAME));
    }
}

Test(error, names_and_messages_are_distinct)
{
    size_t i, j;

    for (i = 0; i < N_CODES; i++)
        for (j = i + 1; j < N_CODES; j++) {
            cr_assert(ne(str, (char *)sync_errname(codes[i].code),
                         (char *)sync_errname(codes[j].code)));
            cr_assert(ne(str, (char *)sync_strerror(codes[i].code),
                         (char *)sync_strerror(codes[j].code)),
                      "%s and %s share a message", codes[i].name,
                      codes[j].name);
        }
}

Test(error, every_code_is_known)
{
    size_t i;

    for (i = 0; i < N_CODES; i++)
        cr_assert(eq(int, sync_error_is_known(codes[i].code), 1), "%s",
                  codes[i].name);
}

Test(error, zero_is_success)
{
    cr_assert(eq(int, sync_error_is_known(0), 1));
    cr_assert(eq(str, (char *)sync_strerror(0), "success"));
    cr_assert(eq(str, (char *)sync_errname(0), "SYNC_OK"));
}

Test(error, unused_numbers_are_unknown)
{
    static const int unused[] = {-999, -1000, -65536, 1, 2, 42, -2147483647 - 1,
                                 2147483647};
    size_t i, j;

    for (i = 0; i < sizeof(unused) / sizeof(unused[0]); i++) {
        for (j = 0; j < N_CODES; j++)
            cr_assert(ne(int, unused[i], codes[j].code), "pick another");
        cr_assert(eq(int, sync_error_is_known(unused[i]), 0), "%d",
                  unused[i]);
        cr_assert(eq(str, (char *)sync_strerror(unused[i]), UNKNOWN_MSG));
        cr_assert(eq(str, (char *)sync_errname(unused[i]), UNKNOWN_NAME));
    }
}

Test(error, one_past_the_last_code_is_unknown)
{
    int lowest = 0;
    size_t i;

    for (i = 0; i < N_CODES; i++)
        if (codes[i].code < lowest)
            lowest = codes[i].code;
    cr_assert(eq(int, sync_error_is_known(lowest - 1), 0));
    cr_assert(eq(str, (char *)sync_errname(lowest - 1), UNKNOWN_NAME));
}

/* errno becomes a code in one place (sync_error_from_errno). */
Test(error, errno_maps_to_the_closest_code)
{
    cr_assert(eq(int, sync_error_from_errno(0), 0));
    cr_assert(eq(int, sync_error_from_errno(ENOMEM), SYNC_ENOMEM));
    cr_assert(eq(int, sync_error_from_errno(ENOBUFS), SYNC_ENOMEM));
    cr_assert(eq(int, sync_error_from_errno(EMFILE), SYNC_ELIMIT));
    cr_assert(eq(int, sync_error_from_errno(EACCES), SYNC_EPERM));
    cr_assert(eq(int, sync_error_from_errno(EADDRINUSE), SYNC_EEXIST));
    cr_assert(eq(int, sync_error_from_errno(ENAMETOOLONG), SYNC_EINVAL));
    cr_assert(eq(int, sync_error_from_errno(ECONNREFUSED), SYNC_ECONN));
    cr_assert(eq(int, sync_error_from_errno(EPIPE), SYNC_ECONN));
    cr_assert(eq(int, sync_error_from_errno(EIO), SYNC_EINTERNAL));
}
