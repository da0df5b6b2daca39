/* test_gss_tshark.c - the SMB and GSS decoders against tshark: every
 * NEGOTIATE, SESSION_SETUP and TREE_CONNECT whose TCP payload is exactly one
 * SMB message, over the samples (/gss/samples) and the public corpus
 * (/gss/corpus), compared with tshark's smb2 / spnego / ntlmssp / kerberos
 * fields.  Two meson tests (gss-samples, gss-corpus): each exits 77 (skipped)
 * when tshark or the corpus is absent, and fails then under CI=true. */
#include <glib.h>

#include "smb_test_util.h"
#include "test_env.h"

static char *tshark;

/* Captures of the public corpus with SESSION_SETUPs of every mechanism. */
static const char *const corpus_captures[] = {
    "zeek__zeek/smb2_krb.pcap",
    "zeek__zeek/smb_gssapi.pcap",
    "zeek__zeek/raw_ntlm_in_smb.pcap",
    "zeek__zeek/smb3_negotiate_context.pcap",
    "zeek__zeek/smb311.pcap",
    "zeek__zeek/smb3.pcap",
    "zeek__zeek/smb2.pcap",
    "zeek__zeek/smb1.pcap",
    "zeek__zeek/smb3_multichannel.pcap",
    "ntop__nDPI/smbv1.pcap",
    "ntop__nDPI/smb_deletefile.pcap",
    "ntop__nDPI/smb_frags.pcap",
    "zeek__zeek/smb2-multiple-pdus.pcap",
    "zeek__zeek/smb2_100_small_files.pcap",
    "zeek__zeek/smb2readwrite.pcap",
    "zeek__zeek/smb_v2_only_non_zero_reserved1.pcap",
    "zeek__zeek/SMBGhost.pcap",
    "zeek__zeek/smb2_fscontrol.pcap",
    "zeek__zeek/smb1-logoff-andx-advance.pcap",
    "zeek__zeek/smb1_transaction_request.pcap",
    "zeek__zeek/20171220_smb_at_schedule.pcap",
    "zeek__zeek/smb2.delete-on-close-perms-delete-existing.pcap",
    "zeek__zeek/smb2-zero-byte-error-ioctl.pcapng",
    "the-tcpdump-group__tcpdump/smb_data_print-segv.pcap",
};

static void test_corpus(void)
{
    char *corpus = test_env_corpus();
    int checked = 0, captures = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(corpus_captures); i++) {
        char *cap = g_build_filename(corpus, corpus_captures[i], NULL);
        /* a capture missing from the corpus is a failure, not a smaller test */
        if (!g_file_test(cap, G_FILE_TEST_EXISTS))
            g_test_message("missing from the corpus: %s", cap);
        g_assert_true(g_file_test(cap, G_FILE_TEST_EXISTS));
        captures++;
        checked += corpus_diff(tshark, cap);
        g_free(cap);
    }
    g_test_message("corpus: %d NEGOTIATE/SESSION_SETUP/TREE_CONNECT messages compared with tshark in %d captures", checked, captures);
    g_assert_cmpint(checked, >, 0);
    g_free(corpus);
}

/* The same differential run over every capture of the project's samples/
 * directory (SMBSCOPE_SAMPLES, set by tests/meson.build); it is part of the
 * tree, so no capture or no comparison at all is a failure. */
static void test_samples(void)
{
    const char *env = g_getenv("SMBSCOPE_SAMPLES");
    char *dir = g_strdup(env ? env : SMB_VECTOR_DIR "/../../../samples");
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d)
        g_test_message("cannot open the samples directory %s", dir);
    g_assert_nonnull(d);
    int checked = 0, captures = 0;
    const char *name;
    while ((name = g_dir_read_name(d))) {
        if (!g_str_has_suffix(name, ".pcap") && !g_str_has_suffix(name, ".pcapng"))
            continue;
        char *cap = g_build_filename(dir, name, NULL);
        captures++;
        checked += corpus_diff(tshark, cap);
        g_free(cap);
    }
    g_dir_close(d);
    g_test_message("samples: %d messages compared with tshark in %d captures", checked, captures);
    g_assert_cmpint(captures, >, 0);
    g_assert_cmpint(checked, >, 0);
    g_free(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tshark = test_env_tshark();
    g_test_add_func("/gss/samples", test_samples);
    g_test_add_func("/gss/corpus", test_corpus);
    int status = g_test_run();
    g_free(tshark);
    return status;
}
