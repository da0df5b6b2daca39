/* options.h - the command line, parsed with GLib's option parser. */
#ifndef SMBSCOPE_OPTIONS_H
#define SMBSCOPE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

enum report_format { FORMAT_AUTO = 0, FORMAT_TEXT, FORMAT_JSON, FORMAT_NDJSON };

/* --connections: which closed SMB connections keep their full detail for
 * connections[] (every connection is in connection_groups[] regardless). */
enum conn_detail { CONN_DETAIL_FIRST = 0, CONN_DETAIL_ALL, CONN_DETAIL_VIOLATIONS, CONN_DETAIL_NONE };
#define CONN_DETAIL_DEFAULT_LIMIT 250 /* --connections-limit default */

struct config {
    char **inputs;            /* NULL-terminated; "-" is stdin */
    int n_inputs;
    char *output;             /* -o FILE, NULL = stdout */
    enum report_format format;
    bool quiet;               /* -q: no progress line */
    bool show_version;
    char *write_streams_dir;  /* --write-streams DIR */
    char *tls_keylog;         /* --tls-keylog FILE (SSLKEYLOGFILE): decrypt SMB over QUIC */
    struct policy policy;
    bool no_fast_path;        /* --no-fast-path: reassemble and buffer everything */
    /* Memory caps (0 = default). */
    uint64_t max_connections;
    uint64_t max_netbios_flows; /* NetBIOS ledger rows itemised */
    uint64_t reasm_dir_cap;   /* bytes of out-of-order data held per direction */
    uint64_t reasm_total_cap; /* bytes held in total */
    uint32_t pdu_cap;         /* bytes of one SMB message buffered for decoding */
    enum conn_detail conn_detail; /* --connections */
    uint64_t conn_detail_limit;   /* --connections-limit (first, violations) */
    uint32_t max_conn_groups;     /* --max-connection-groups, 0 = CONN_GROUPS_DEFAULT_CAP */
    uint32_t max_closed_conns;    /* closed connections lingering at once, 0 = FLOW_DEFAULT_MAX_CLOSED
                                     (no option: --jobs gives each thread a share) */
    uint64_t quic_state_cap;      /* bytes the QUIC table's connections hold, 0 = QUIC_TABLE_MAX_BYTES (no
                                     option: --jobs over several inputs gives each analysis alive a share; a
                                     split file's UDP all goes to one thread, which keeps the whole) */
    /* Capture, with tcpdump's and tshark's grammar (see capture_options_*). */
    char *filter;             /* capture filter (pcap-filter(7)), NULL = none */
    char **interfaces;        /* -i IFACE, NULL-terminated; NULL = read files */
    int n_interfaces;
    bool list_interfaces;     /* -D */
    int snaplen;              /* -s, 0 = LIVE_DEFAULT_SNAPLEN */
    bool no_promisc;          /* -p */
    int buffer_kib;           /* -B, 0 = LIVE_DEFAULT_BUFFER_KIB */
    char *drop_user;          /* -Z USER */
    char *write_file;         /* -w FILE: the packets read, as pcapng */
    uint64_t max_packets;     /* -c COUNT / -a packets:N, 0 = no limit */
    uint64_t stop_after_us;   /* -a duration:N, 0 = no limit */
    uint64_t stop_filesize;   /* -a filesize:KB, in bytes, 0 = no limit */
    bool verbose;             /* -V: every connection's detail */
    int64_t report_every_us;  /* --report-every, 0 = one report at the end */
    char *observer_name;      /* --observer-name, default the host name */
    bool merge_state;         /* the JSON report carries merge_state (smbscope merge); --no-merge-state: not */
    int jobs;                 /* --jobs N: files analysed at once (analyzer/merge/jobs.h), 1 = one at a time */
};

/* Parse argv.  On error writes a message to errbuf and returns false; the
 * caller exits 2.  `config_free` releases what parsing allocated. */
bool config_parse(struct config *cfg, int *argc, char ***argv, char *errbuf, size_t errlen);
void config_free(struct config *cfg);

#endif
