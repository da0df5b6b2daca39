/* pcap_loop.c - the floor of smbscope's input path: read every packet of a
 * capture with libpcap and do nothing else (touch one byte so the read is
 * not optimised away).  Benchmarks compare smbscope against this loop. */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pcap_loop CAPTURE\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "pcap_loop: %s\n", err);
        return 2;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t packets = 0, bytes = 0, sum = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        packets++;
        bytes += h->caplen;
        if (h->caplen)
            sum += data[h->caplen - 1];
    }
    pcap_close(p);
    printf("%" PRIu64 " packets, %" PRIu64 " bytes (checksum %" PRIu64 ")\n", packets, bytes, sum);
    return rc == -2 ? 0 : 1;
}
