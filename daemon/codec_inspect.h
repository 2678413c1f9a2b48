/*
 * codec_inspect.h: the inspection half of the codec (status, object and
 * client listings): builds the nested protobuf messages on the heap.
 * Private to codec.c and codec_inspect.c.
 */
#ifndef SYNCD_CODEC_INSPECT_H
#define SYNCD_CODEC_INSPECT_H

#include "codec.h"
#include "syncd.pb-c.h"

/* Set reply's result from rp's inspection data.  0 or SYNC_ENOMEM. */
int codec_inspect_attach(const struct reply *rp, Syncd__Reply *reply);
/* Free what codec_inspect_attach allocated. */
void codec_inspect_detach(Syncd__Reply *reply);

#endif
