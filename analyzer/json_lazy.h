/* json_lazy.h - json-glib loaded on its first call (json_lazy.c), where the
 * build does so (x86-64 GNU/Linux: JSON_LAZY defined). */
#ifndef SMBSCOPE_JSON_LAZY_H
#define SMBSCOPE_JSON_LAZY_H

#include <stdbool.h>

/* Load json-glib and point every stub at its function (once; the stubs'
 * resolvers call it).  Exits with a message when the library cannot be
 * loaded. */
void json_lazy_bind(void);
/* Whether json-glib was loaded (tests). */
bool json_lazy_loaded(void);

#endif
