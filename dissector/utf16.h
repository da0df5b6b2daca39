/* utf16.h - wire strings to UTF-8 in a caller buffer.
 *
 * SMB and NTLMSSP carry names as UTF-16LE (or OEM bytes).  These convert into
 * a bounded, always NUL-terminated buffer: no allocation, never a split UTF-8
 * sequence at the cut, unpaired surrogates become U+FFFD.
 */
#ifndef SMBSCOPE_UTF16_H
#define SMBSCOPE_UTF16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Convert src_len bytes of UTF-16LE.  Stops at a U+0000 code unit when
 * stop_at_nul (SMB1 NUL-terminated strings).  An odd trailing byte becomes
 * U+FFFD.  Writes at most dst_size-1 bytes plus NUL (dst_size >= 1) and sets
 * *truncated (if non-NULL) when output had to be cut.  Returns bytes written
 * (without the NUL). */
size_t utf16le_to_utf8(const uint8_t *src, size_t src_len, bool stop_at_nul,
                       char *dst, size_t dst_size, bool *truncated);

/* OEM / ASCII bytes: 0x01-0x7F are copied, bytes >= 0x80 (code page unknown)
 * become U+FFFD.  Same contract as above. */
size_t oem_to_utf8(const uint8_t *src, size_t src_len, bool stop_at_nul,
                   char *dst, size_t dst_size, bool *truncated);

#endif
