/* error.h: helpers over SYNC_ERRNO_MAP shared by daemon, library and CLI. */
#ifndef SYNCD_ERROR_H
#define SYNCD_ERROR_H

/* 1 when code is 0 or one of the SYNC_E* codes, else 0. */
int sync_error_is_known(int code);

/*
 * The SYNC_E* code for a failed system call's errno (positive; a libuv
 * error is -errno on Unix, so pass -rv): the one place errno becomes a
 * code (libuv's UV__ERR).  0 stays 0; what has no closer code is
 * SYNC_EINTERNAL.
 */
int sync_error_from_errno(int err);

#endif
