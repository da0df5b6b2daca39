/* crc.h - CRC-32C (MPA, RFC 5044) and IEEE CRC-32 (RoCEv2 ICRC), no library. */
#ifndef SMBSCOPE_CRC_H
#define SMBSCOPE_CRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRC32_INIT 0xFFFFFFFFu

/* Incremental: start with CRC32_INIT, feed pieces, final value = reg ^ CRC32_INIT. */
uint32_t crc32c_update(uint32_t reg, const uint8_t *p, size_t n);
uint32_t crc32_ieee_update(uint32_t reg, const uint8_t *p, size_t n);

/* crc32c_update() takes the CPU's crc32 instruction (x86-64 with SSE4.2)
 * when crc32c_uses_hw(); crc32c_update_table() is the portable table,
 * always (tests hold the two equal). */
bool crc32c_uses_hw(void);
uint32_t crc32c_update_table(uint32_t reg, const uint8_t *p, size_t n);

/* One-shot CRC-32C ("123456789" -> 0xE3069283, RFC 3720 B.4). */
uint32_t crc32c(const uint8_t *p, size_t n);

#endif
