/* test_env.h - the external inputs of the unit tests that compare with
 * tshark: tshark itself and the public captures of ../shared/corpus (its
 * path in SMBSCOPE_CORPUS, set by tests/meson.build).  Such a test is a meson
 * test of its own: when an input is absent it exits 77 (meson: skipped), or
 * fails when CI=true, where .ci/deps.sh installs tshark and the corpus must be
 * present.  A skip is then visible as a skip, never an OK. */
#ifndef TEST_ENV_H
#define TEST_ENV_H

/* The corpus directory (g_free it), or exit as above. */
char *test_env_corpus(void);
/* tshark's path (g_free it), or exit as above. */
char *test_env_tshark(void);

#endif
