/* fmt.c - report-time formatting; see fmt.h. */
#include "fmt.h"

#include "utf8.h"

#include <arpa/inet.h>
#include <string.h>
#include <time.h>

/* Decimal digits of v at p (no padding); returns the end. */
static char *put_uint(char *p, unsigned v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* IPv4 dotted quad written here, as inet_ntop() writes it: inet_ntop goes
 * through sprintf, and reports of big captures format tens of thousands of
 * addresses. */
const char *fmt_addr(const struct ip_addr *a, char buf[FMT_ADDR_LEN])
{
    if (a->family == 4) {
        char *p = buf;
        for (int i = 0; i < 4; i++) {
            if (i)
                *p++ = '.';
            p = put_uint(p, a->bytes[i]);
        }
        *p = '\0';
    } else if (a->family == 6)
        inet_ntop(AF_INET6, a->bytes, buf, FMT_ADDR_LEN);
    else
        snprintf(buf, FMT_ADDR_LEN, "-");
    return buf;
}

/* width decimal digits of v, zero-padded (v < 10^width). */
static char *put_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

const char *fmt_time(int64_t ts_us, char buf[FMT_TIME_LEN])
{
    int64_t sec = ts_us / 1000000;
    int64_t us = ts_us % 1000000;
    if (us < 0) {
        us += 1000000;
        sec -= 1;
    }
    /* The date of the previous call's day is kept (per thread): a report's
     * timestamps are mostly of a few days, and gmtime_r was half the cost;
     * the time of day is arithmetic (UTC days are 86,400 s to gmtime too). */
    static _Thread_local int64_t cached_day = INT64_MIN;
    static _Thread_local char cached_date[11];
    int64_t day = sec >= 0 ? sec / 86400 : INT64_MIN;
    if (day != INT64_MIN && day == cached_day) {
        unsigned tod = (unsigned)(sec % 86400);
        char *p = buf;
        memcpy(p, cached_date, 10);
        p += 10;
        *p++ = 'T';
        p = put_digits(p, tod / 3600, 2);
        *p++ = ':';
        p = put_digits(p, tod / 60 % 60, 2);
        *p++ = ':';
        p = put_digits(p, tod % 60, 2);
        *p++ = '.';
        p = put_digits(p, (unsigned)us, 6);
        *p++ = 'Z';
        *p = '\0';
        return buf;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, FMT_TIME_LEN, "-");
        return buf;
    }
    int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999 || FMT_TIME_LEN < 28) {
        snprintf(buf, FMT_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", year, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)us);
        return buf;
    }
    /* The same text without snprintf: two timestamps per connection make
     * this a visible share of the report of a big capture. */
    char *p = buf;
    p = put_digits(p, (unsigned)year, 4);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm.tm_mon + 1, 2);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm.tm_mday, 2);
    if (day != INT64_MIN) {
        memcpy(cached_date, buf, 10);
        cached_date[10] = '\0';
        cached_day = day;
    }
    *p++ = 'T';
    p = put_digits(p, (unsigned)tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_sec, 2);
    *p++ = '.';
    p = put_digits(p, (unsigned)us, 6);
    *p++ = 'Z';
    *p = '\0';
    return buf;
}

size_t fmt_utf8_len(const uint8_t *s, size_t n)
{
    uint32_t cp;
    size_t k = utf8_seq(s, n, &cp);
    /* C1 controls (U+0080..U+009F) act as escape introducers on some terminals. */
    if (k && cp >= 0x80 && cp <= 0x9F)
        return 0;
    return k;
}

/* Calls emit(piece, len, arg) for each output piece. */
static void escape(const uint8_t *s, size_t n, void (*emit)(const char *, size_t, void *), void *arg)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x7F) {
            emit((const char *)s + i, 1, arg);
            i++;
            continue;
        }
        size_t k = c >= 0x80 ? fmt_utf8_len(s + i, n - i) : 0;
        if (k) {
            emit((const char *)s + i, k, arg);
            i += k;
        } else {
            char hex[5];
            snprintf(hex, sizeof hex, "\\x%02x", c);
            emit(hex, 4, arg);
            i++;
        }
    }
}

static void emit_file(const char *p, size_t n, void *arg) { fwrite(p, 1, n, (FILE *)arg); }

void fmt_escaped(FILE *out, const uint8_t *s, size_t n) { escape(s, n, emit_file, out); }

struct bufsink {
    char *buf;
    size_t len, cap;
};

static void emit_buf(const char *p, size_t n, void *arg)
{
    struct bufsink *b = arg;
    if (b->len + n + 1 > b->cap)
        return; /* whole pieces only: never cut an escape or a character */
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

const char *fmt_escaped_buf(const uint8_t *s, size_t n, char *buf, size_t buflen)
{
    if (!buflen)
        return "";
    struct bufsink b = { buf, 0, buflen };
    buf[0] = '\0';
    escape(s, n, emit_buf, &b);
    return buf;
}

const char *fmt_endpoint(const struct ip_addr *a, uint16_t port, char buf[FMT_ENDPOINT_LEN])
{
    char addr[FMT_ADDR_LEN];
    fmt_addr(a, addr);
    size_t n = strlen(addr);
    char *p = buf;
    if (a->family == 6)
        *p++ = '[';
    memcpy(p, addr, n); /* FMT_ENDPOINT_LEN holds brackets, colon and port */
    p += n;
    if (a->family == 6)
        *p++ = ']';
    *p++ = ':';
    *put_uint(p, port) = '\0';
    return buf;
}
