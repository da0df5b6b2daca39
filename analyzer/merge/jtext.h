/* jtext.h - stepping over JSON text without parsing it: whitespace and
 * strings (merge.c's walk over a report's top-level members, mstate_cut.c's
 * cut of a state's large arrays).  Offsets into p[0, n); 0 where the text
 * ends first. */
#ifndef SMBSCOPE_JTEXT_H
#define SMBSCOPE_JTEXT_H

#include <stddef.h>

/* The first offset from i that is not JSON whitespace (n: none). */
static inline size_t jtext_ws(const char *p, size_t n, size_t i)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* One past the closing quote of the string starting at p[i] == '"', or 0. */
static inline size_t jtext_str_end(const char *p, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return 0;
}

#endif
