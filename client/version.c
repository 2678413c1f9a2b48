/*
 * version.c: the library's version at run time, from the header it was
 * built with (a program compares it with SYNC_VERSION_HEX, which it was
 * compiled against).
 */
#include "syncclient.h"

unsigned sync_version(void)
{
    return SYNC_VERSION_HEX;
}

const char *sync_version_string(void)
{
    return SYNC_VERSION_STRING;
}
