/* framer_priv.h - what framer.c and framer_resync.c share. */
#ifndef SMBSCOPE_FRAMER_PRIV_H
#define SMBSCOPE_FRAMER_PRIV_H

#include "framer.h"
#include "wire.h"

/* Count an anomaly and tell the consumer. */
void framer_note_anomaly(struct framer *f, enum framer_anomaly an, uint64_t detail);
/* Frame the bytes of w from the current state on. */
void framer_run(struct framer *f, struct wire *w);
/* FRAMER_RESYNC: scan w (after the carried bytes) for a plausible header. */
void framer_step_resync(struct framer *f, struct wire *w);

#endif
