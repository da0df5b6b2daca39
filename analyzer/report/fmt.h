/* fmt.h - formatting done only at report time: addresses, timestamps, and
 * wire strings made safe for a terminal. */
#ifndef SMBSCOPE_FMT_H
#define SMBSCOPE_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "packet.h"

#define FMT_ADDR_LEN 48
#define FMT_TIME_LEN 64

/* "10.0.0.1" or "fd00::1"; "-" for no address. */
const char *fmt_addr(const struct ip_addr *a, char buf[FMT_ADDR_LEN]);

#define FMT_ENDPOINT_LEN 64

/* An address with its port, one notation everywhere: "10.0.0.1:445",
 * "[fd00::1]:445" (RFC 5952 6: brackets when a port follows). */
const char *fmt_endpoint(const struct ip_addr *a, uint16_t port, char buf[FMT_ENDPOINT_LEN]);

/* RFC 3339 UTC with microseconds: "2026-11-21T23:38:30.123456Z". */
const char *fmt_time(int64_t ts_us, char buf[FMT_TIME_LEN]);

/* Write wire bytes for a terminal: printable ASCII and valid UTF-8 as is;
 * control bytes (C0, DEL, C1) and invalid UTF-8 as \xNN (a backslash
 * stays: UNC paths are full of them and it cannot drive a terminal), so no
 * escape sequence from a capture ever reaches the terminal. */
void fmt_escaped(FILE *out, const uint8_t *s, size_t n);
/* Same into a buffer (always NUL-terminated, cut at a character boundary). */
const char *fmt_escaped_buf(const uint8_t *s, size_t n, char *buf, size_t buflen);

/* Length of the valid UTF-8 sequence at s (RFC 3629), 0 when invalid. */
size_t fmt_utf8_len(const uint8_t *s, size_t n);

#endif
