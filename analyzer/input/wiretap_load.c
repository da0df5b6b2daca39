/* wiretap_load.c - dlopen() of libwiretap by the soname of the library the
 * build found (WIRETAP_SONAME: meson reads it at configure time), and its
 * functions and libwsutil's through one table.  libwsutil comes as
 * libwiretap's dependency and its functions through libwiretap's handle
 * (dlsym searches the objects loaded with it): a dlopen() of its own, of an
 * object already loaded as a dependency, leaks glibc's 120-byte list of it
 * (valgrind "definitely lost", glibc 2.36). */
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
    const char *name;
    size_t off;
} funcs[] = {
#define WIRETAP_FUNC_ROW(n) { #n, offsetof(struct wiretap_api, n) },
    WIRETAP_FUNCS(WIRETAP_FUNC_ROW)
#undef WIRETAP_FUNC_ROW
};

static struct wiretap_api api;
static void *handle; /* held for the process's life (see load_once) */
static char load_why[256];

/* dlerror() may be NULL (a symbol whose value is NULL): never to %s */
static const char *dl_why(void)
{
    const char *e = dlerror();
    return e ? e : "no reason given";
}

static gpointer load_once(gpointer unused)
{
    (void)unused;
    /* RTLD_LOCAL: its symbols serve this table only; never closed, as
     * libwiretap keeps state (its format table) for the process's life */
    handle = dlopen(WIRETAP_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(load_why, sizeof load_why, "cannot load %s (needed for formats other than pcap and pcapng): %s",
                 WIRETAP_SONAME, dl_why());
        return NULL;
    }
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        void *p = dlsym(handle, funcs[i].name);
        if (!p) {
            snprintf(load_why, sizeof load_why, "%s has no %s: %s", WIRETAP_SONAME, funcs[i].name, dl_why());
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
