/*
 * error.c: sync_strerror()/sync_errname(), generated from SYNC_ERRNO_MAP so
 * the list of codes exists exactly once.
 */
#include "syncclient.h"

#include <errno.h>

#include "error.h"

const char *sync_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define SYNC_STRERROR_CASE(name, num, msg)                                    \
    case -(num):                                                              \
        return msg;
        SYNC_ERRNO_MAP(SYNC_STRERROR_CASE)
#undef SYNC_STRERROR_CASE
    }
    return "unknown error";
}

const char *sync_errname(int code)
{
    switch (code) {
    case 0:
        return "SYNC_OK";
#define SYNC_ERRNAME_CASE(name, num, msg)                                     \
    case -(num):                                                              \
        return "SYNC_" #name;
        SYNC_ERRNO_MAP(SYNC_ERRNAME_CASE)
#undef SYNC_ERRNAME_CASE
    }
    return "SYNC_EUNKNOWN";
}

int sync_error_is_known(int code)
{
    switch (code) {
    case 0:
#define SYNC_KNOWN_CASE(name, num, msg) case -(num):
        SYNC_ERRNO_MAP(SYNC_KNOWN_CASE)
#undef SYNC_KNOWN_CASE
        return 1;
    }
    return 0;
}

int sync_error_from_errno(int err)
{
    switch (err) {
    case 0:
        return 0;
    case ENOMEM:
    case ENOBUFS:
        return SYNC_ENOMEM;
    case EMFILE:
    case ENFILE:
        return SYNC_ELIMIT;
    case EACCES:
    case EPERM:
    case EROFS:
        return SYNC_EPERM;
    case EINVAL:
    case ENAMETOOLONG:
    case ENOTDIR:
        return SYNC_EINVAL;
    case EEXIST:
    case EADDRINUSE:
        return SYNC_EEXIST;
    case ENOENT:
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ENOTCONN:
        return SYNC_ECONN;
    }
    return SYNC_EINTERNAL;
}
