/* wiretap_load.h - libwiretap and libwsutil loaded with dlopen() on first
 * use, so that a run on pcap or pcapng (our own readers) never maps them:
 * with their dependencies they were about 35 shared objects and 7,900
 * symbol relocations at every start (tests/bench/RESULTS.md, branch lazy).
 * Only wiretap_reader.c includes this (under HAVE_WIRETAP). */
#ifndef SMBSCOPE_WIRETAP_LOAD_H
#define SMBSCOPE_WIRETAP_LOAD_H

#include <stddef.h>

#include <wiretap/pcap-encap.h>
#include <wiretap/wtap.h>
#include <wsutil/buffer.h>
#include <wsutil/wslog.h>

/* Every function of the two libraries wiretap_reader.c calls.  Each pointer
 * has the type the installed headers declare (__typeof__), so a call is
 * checked as if linked. */
#define WIRETAP_FUNCS(X)                                                                                     \
    X(wtap_init) X(wtap_open_offline) X(wtap_strerror) X(wtap_read) X(wtap_close) X(wtap_rec_init)          \
    X(wtap_rec_reset) X(wtap_rec_cleanup) X(wtap_file_encap) X(wtap_pcap_encap_to_wtap_encap)               \
    X(wtap_file_get_idb_info) X(wtap_block_get_if_filter_option_value) X(wtap_file_type_subtype)            \
    X(wtap_file_type_subtype_name) X(wtap_get_compression_type) X(wtap_read_so_far)                         \
    X(ws_log_set_level) X(ws_buffer_init) X(ws_buffer_free)

struct wiretap_api {
#define WIRETAP_API_MEMBER(name) __typeof__(name) *name;
    WIRETAP_FUNCS(WIRETAP_API_MEMBER)
#undef WIRETAP_API_MEMBER
};

/* The functions, libwiretap initialised (once, thread-safe); NULL when the
 * libraries cannot be loaded, with why (the soname and dlerror()). */
const struct wiretap_api *wiretap_api(char *why, size_t whylen);

#endif
