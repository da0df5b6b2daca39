/* iwarp_probe.h - is this TCP data SMB Direct over iWARP, without its MPA startup?
 *
 * A capture that began after a connection's MPA request/reply has only the
 * FPDUs.  Their boundaries are not marked, but MPA senders align FPDUs with
 * TCP segments (RFC 5044 8), so a segment that starts a direction's data (or
 * the first data after a gap) normally starts an FPDU.  This checks that
 * hypothesis strictly, so that other TCP data is never taken for iWARP:
 *   - MPA framing: every complete FPDU in the bytes (ULPDU_LENGTH, the ULPDU,
 *     pad to 4 octets, CRC32c) has a correct CRC32c (a random match: 2^-32),
 *     at least one is complete, and none is shorter than a DDP header;
 *   - DDP/RDMAP (RFC 5041/5040): versions 1, reserved bits 0, an opcode that
 *     fits the tagged/untagged model and its queue (Send on 0, Read Request
 *     on 1 with its 28-octet body, Terminate on 2), no STag on a plain Send;
 *   - SMBD (MS-SMBD 2.2): a whole Send (last segment, offset 0) has the
 *     shape of a negotiate request, a negotiate response or a data transfer
 *     message whose data ends the message at an 8-aligned offset.
 * MPA without CRC cannot be recognised this way (it leaves no proof).
 * Markers break the framing at places that depend on the stream's start:
 * iwarp_fpdu_probe_markers() finds them. */
#ifndef SMBSCOPE_IWARP_PROBE_H
#define SMBSCOPE_IWARP_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum iwarp_probe {
    IWARP_PROBE_NO = 0,  /* not FPDUs with CRC32c, or not DDP/RDMAP, or a Send that is not SMBD */
    IWARP_PROBE_RDMA,    /* valid FPDUs, but no whole Send to show SMBD (RDMA Write, Read) */
    IWARP_PROBE_SMBD,    /* valid FPDUs and at least one whole Send shaped as SMBD */
};

enum iwarp_probe iwarp_fpdu_probe(const uint8_t *p, size_t n);

/* The same for FPDUs with MPA markers (RFC 5044: one every 512 octets of the
 * direction's FPDU stream, counted from its start, which a capture begun
 * later did not see): each place of the first marker in the bytes (a
 * multiple of 4 octets: FPDUs are padded to 4 and the bytes start one or a
 * marker) is tried; it passes when every complete FPDU has a correct CRC32c
 * (covering the markers inside it) and passes the DDP/RDMAP/SMBD checks
 * above, and at least one marker lies in the bytes with its FPDUPTR right;
 * of the places that pass, the one reading the most whole SMBD Sends (a
 * place wrong inside the FPDU holding the real marker passes the CRC32c
 * too), none when two read as many.  *first_marker: the offset of the
 * first marker in p.  Not on the packet
 * path: only a mid-stream connection's data that iwarp_fpdu_probe() did
 * not pass is tried (at most 128 places, at most
 * IWARP_PROBE_MAX_PLACES of them past the cheap test). */
enum iwarp_probe iwarp_fpdu_probe_markers(const uint8_t *p, size_t n, uint32_t *first_marker);

/* How many places of the first marker in p pass the cheap test before any
 * CRC32c (reserved bits zero, FPDUPTR reached by the FPDUs before it);
 * iwarp_fpdu_probe_markers() decides nothing past IWARP_PROBE_MAX_PLACES,
 * which bounds its work to that many CRC32c passes over the bytes. */
#define IWARP_PROBE_MAX_PLACES 8u
unsigned iwarp_fpdu_marker_places(const uint8_t *p, size_t n);

/* Whether a whole Send message has the shape of an SMBD message (any kind). */
bool smbd_shape(const uint8_t *p, size_t n);

#endif
