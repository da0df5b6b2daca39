/* keylog.h - an SSLKEYLOGFILE (NSS key log format, what tshark's
 * tls.keylog_file reads): "LABEL <client_random hex> <secret hex>" lines.
 * Only the TLS 1.3 traffic secrets QUIC needs are kept, by client random. */
#ifndef SMBSCOPE_KEYLOG_H
#define SMBSCOPE_KEYLOG_H

#include <stddef.h>
#include <stdint.h>

#include "quic_session.h"

struct keylog;

/* NULL with errbuf set when the file cannot be read or holds no usable line. */
struct keylog *keylog_load(const char *path, char *errbuf, size_t errlen);
void keylog_free(struct keylog *k);

/* Secrets kept (lines used) and lines ignored (other labels, malformed). */
size_t keylog_secrets(const struct keylog *k);
size_t keylog_ignored(const struct keylog *k);

/* The secret of kind for the ClientHello random, copied to out; its length,
 * 0 when unknown.  Matches quic_session_hooks.secret (ctx = the keylog). */
size_t keylog_lookup(void *keylog, const uint8_t random[32], enum quic_secret_kind kind, uint8_t *out, size_t cap);

#endif
