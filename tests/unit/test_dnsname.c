/* test_dnsname.c - DNS/LLMNR/mDNS name decoding (RFC 1035 4.1.4 message
 * compression) and the NetBIOS key of a DNS name.  Vectors built from the
 * RFC's layout; hostile ones: pointer loops, pointers past the end, cuts. */
#include <glib.h>
#include <string.h>

#include "dnsname.h"

/* id 8, response, 1 question "files.corp", 1 answer owned by pointer 0xC00C */
static const uint8_t answer[] = {
    0x00, 0x08, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x05, 'f', 'i', 'l', 'e', 's', 0x04, 'c', 'o', 'r', 'p', 0x00, 0x00, 0x01, 0x00, 0x01,
    0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x04, 10, 213, 1, 1,
};

static void test_compressed_answer(void)
{
    struct dns_msg m;
    g_assert_cmpint(dns_decode(answer, sizeof answer, &m), ==, DNS_OK);
    g_assert_cmpuint(m.id, ==, 8);
    g_assert_true(m.response);
    g_assert_cmpuint(m.nnames, ==, 2);
    g_assert_cmpuint(m.nquestions, ==, 1);
    g_assert_cmpstr(m.names[0], ==, "files.corp");
    g_assert_cmpstr(m.names[1], ==, "files.corp");
}

static void test_hostile(void)
{
    struct dns_msg m;
    /* a pointer to itself */
    uint8_t loop[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1 };
    g_assert_cmpint(dns_decode(loop, sizeof loop, &m), ==, DNS_BAD_NAME);
    /* a pointer past the end */
    uint8_t far[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0, 1, 0, 1 };
    g_assert_cmpint(dns_decode(far, sizeof far, &m), ==, DNS_SHORT);
    /* every cut of a valid message stops short, never reads past it */
    for (size_t n = 0; n < sizeof answer; n++) {
        uint8_t *copy = g_memdup2(answer, n);
        enum dns_status st = dns_decode(copy, n, &m);
        g_assert_cmpint(st, ==, DNS_SHORT);
        g_free(copy);
    }
    /* a label type 0x40 (RFC 6891 extended) is not a name */
    uint8_t ext[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 0, 0, 1, 0, 1 };
    g_assert_cmpint(dns_decode(ext, sizeof ext, &m), ==, DNS_BAD_NAME);
}

static void test_netbios_key(void)
{
    char k[16];
    g_assert_cmpstr(dns_netbios_key("fileserver01.corp.example.com", k), ==, "FILESERVER01");
    g_assert_cmpstr(dns_netbios_key("averyveryverylongname.corp", k), ==, "AVERYVERYVERYLO");
    g_assert_cmpstr(dns_netbios_key("Printer.local", k), ==, "PRINTER");
    g_assert_cmpstr(dns_netbios_key("LEGACY", k), ==, "LEGACY");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dns/compressed-answer", test_compressed_answer);
    g_test_add_func("/dns/hostile", test_hostile);
    g_test_add_func("/dns/netbios-key", test_netbios_key);
    return g_test_run();
}
