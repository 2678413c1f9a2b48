/* error.h: helpers over SYNC_ERRNO_MAP shared by daemon, library and CLI. */
#ifndef SYNCD_ERROR_H
#define SYNCD_ERROR_H

/* 1 when code is 0 or one of the SYNC_E* codes, else 0. */
int sync_error_is_known(int code);

#endif
