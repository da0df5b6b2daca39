/* json_lazy.c - json-glib loaded the first time it is called.
 *
 * Only merge and the merge-state checks build JSON trees (json-glib); an
 * analysis writes its reports with our own writer (report/json.c).  Linked,
 * json-glib brings GObject, GIO and GIO's own dependencies (libmount,
 * libselinux, libblkid, ...): about 1 ms of every start for their
 * relocations and constructors, about half of a short run's start-up
 * (tests/bench/RESULTS.md, branch perf).  So on x86-64 GNU/Linux the build
 * does not link it: every json-glib (and GObject) function smbscope calls
 * is a stub (json_lazy_gen.py, from json_lazy.list) that jumps through a
 * table whose entries first lead to json_lazy_bind(), which dlopen()s the
 * library by its soname (read by the build from the library it found) and
 * fills the table; the call then goes on with its arguments as they came.
 * Elsewhere json-glib is linked as before. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "json_lazy.h"

extern void *json_lazy_table[];
extern const char *const json_lazy_names[];

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void *handle;

static void bind_all(void)
{
    /* RTLD_NODELETE: the functions stay for the whole run; never closed */
    handle = dlopen(JSON_GLIB_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!handle) {
        const char *e = dlerror();
        fprintf(stderr, "smbscope: cannot load json-glib (%s): %s\n", JSON_GLIB_SONAME, e ? e : "unknown error");
        exit(2);
    }
    for (size_t i = 0; json_lazy_names[i]; i++) {
        void *f = dlsym(handle, json_lazy_names[i]);
        if (!f) {
            fprintf(stderr, "smbscope: json-glib (%s) has no %s\n", JSON_GLIB_SONAME, json_lazy_names[i]);
            exit(2);
        }
        /* an aligned word: a thread reading it sees the old entry (the
         * resolver, which waits for this once) or the function */
        __atomic_store_n(&json_lazy_table[i], f, __ATOMIC_RELEASE);
    }
}

void json_lazy_bind(void)
{
    pthread_once(&once, bind_all);
}

bool json_lazy_loaded(void)
{
    return __atomic_load_n(&handle, __ATOMIC_ACQUIRE) != NULL;
}
