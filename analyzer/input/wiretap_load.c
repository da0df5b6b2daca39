/* wiretap_load.c - dlopen() of libwiretap and libwsutil by the sonames the
 * build linked against (WIRETAP_SONAME, WSUTIL_SONAME: meson reads them from
 * the libraries at configure time), and their functions through one table. */
#include "wiretap_load.h"

#include <dlfcn.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "wiretap_sonames.h"

/* dlsym() hands out object pointers; POSIX requires them to hold function
 * pointers too, which the copy below relies on. */
_Static_assert(sizeof(void (*)(void)) == sizeof(void *), "function pointers as wide as void *");

static const struct {
    unsigned lib;
    const char *name;
    size_t off;
} funcs[] = {
#define WIRETAP_FUNC_ROW(l, n) { l, #n, offsetof(struct wiretap_api, n) },
    WIRETAP_FUNCS(WIRETAP_FUNC_ROW)
#undef WIRETAP_FUNC_ROW
};

static const char *const sonames[] = { WIRETAP_SONAME, WSUTIL_SONAME };

static struct wiretap_api api;
static void *handles[2]; /* held for the process's life (see load_once) */
static char load_why[256];

static gpointer load_once(gpointer unused)
{
    (void)unused;
    void **h = handles;
    for (unsigned i = 0; i < 2; i++) {
        /* RTLD_LOCAL: their symbols serve this table only; never closed, as
         * libwiretap keeps state (its format table) for the process's life */
        h[i] = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
        if (!h[i]) {
            snprintf(load_why, sizeof load_why, "cannot load %s (needed for formats other than pcap and pcapng): %s",
                     sonames[i], dlerror());
            return NULL;
        }
    }
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        void *p = dlsym(h[funcs[i].lib], funcs[i].name);
        if (!p) {
            snprintf(load_why, sizeof load_why, "%s has no %s: %s", sonames[funcs[i].lib], funcs[i].name,
                     dlerror());
            return NULL;
        }
        memcpy((char *)&api + funcs[i].off, &p, sizeof p);
    }
    /* its debug chatter (each format it tries) is not ours to print */
    api.ws_log_set_level(LOG_LEVEL_WARNING);
    api.wtap_init(FALSE);
    return &api;
}

const struct wiretap_api *wiretap_api(char *why, size_t whylen)
{
    static GOnce once = G_ONCE_INIT;
    const struct wiretap_api *a = g_once(&once, load_once, NULL);
    if (!a)
        snprintf(why, whylen, "%s", load_why);
    return a;
}
