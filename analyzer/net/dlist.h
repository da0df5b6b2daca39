/* dlist.h - the one doubly-linked list of the analyzer: intrusive and typed
 * by the caller's own members, in the manner of BSD <sys/queue.h>, so the
 * elements keep plain typed prev/next pointers and the lists cost nothing
 * beyond them.
 *
 * head and tail are the list's end pointers (lvalues), n the element, prev
 * and next the names of its link members.  A macro may evaluate its
 * arguments more than once: pass plain variables or members. */
#ifndef SMBSCOPE_DLIST_H
#define SMBSCOPE_DLIST_H

#include <stddef.h>

/* Insert n before pos (an element of the list, or NULL: after the tail). */
#define DLIST_INSERT_BEFORE(head, tail, pos, n, prev, next)                                                            \
    do {                                                                                                               \
        (n)->next = (pos);                                                                                             \
        (n)->prev = (pos) ? (pos)->prev : (tail);                                                                      \
        if ((n)->prev)                                                                                                 \
            (n)->prev->next = (n);                                                                                     \
        else                                                                                                           \
            (head) = (n);                                                                                              \
        if ((n)->next)                                                                                                 \
            (n)->next->prev = (n);                                                                                     \
        else                                                                                                           \
            (tail) = (n);                                                                                              \
    } while (0)

#define DLIST_APPEND(head, tail, n, prev, next)                                                                        \
    do {                                                                                                               \
        (n)->next = NULL;                                                                                              \
        (n)->prev = (tail);                                                                                            \
        if (tail)                                                                                                      \
            (tail)->next = (n);                                                                                        \
        else                                                                                                           \
            (head) = (n);                                                                                              \
        (tail) = (n);                                                                                                  \
    } while (0)

/* Take n out of the list; its links are cleared. */
#define DLIST_REMOVE(head, tail, n, prev, next)                                                                        \
    do {                                                                                                               \
        if ((n)->prev)                                                                                                 \
            (n)->prev->next = (n)->next;                                                                               \
        else                                                                                                           \
            (head) = (n)->next;                                                                                        \
        if ((n)->next)                                                                                                 \
            (n)->next->prev = (n)->prev;                                                                               \
        else                                                                                                           \
            (tail) = (n)->prev;                                                                                        \
        (n)->prev = (n)->next = NULL;                                                                                  \
    } while (0)

#endif
