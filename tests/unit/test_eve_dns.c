/*
 * test_eve_dns.c -- the EVE dns record (version 3) written from message
 * bytes: names as sent, every section, TXT strings as separate answers,
 * SOA objects, grouped answers, and messages cut short or looping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "dns.h"
#include "eve.h"
#include "fext.h"

/* A response: question "Www.Example.COM" TXT; answers TXT ("ab", "") and
 * A 192.0.2.1 (the name compressed); authority SOA. */
static const uint8_t RESP[] = {
    0x12, 0x34, 0x81, 0x80, 0,   1,   0,   2,    0,  1,   0,   0,   3,  'W', 'w', 'w',
    7,    'E',  'x',  'a',  'm', 'p', 'l', 'e',  3,  'C', 'O', 'M', 0,  0,   16,  0,
    1,    0xc0, 12,   0,    16,  0,   1,   0,    0,  0,   60,  0,   4,  2,   'a', 'b',
    0,    0xc0, 12,   0,    1,   0,   1,   0,    0,  0,   30,  0,   4,  192, 0,   2,
    1,    0xc0, 16,   0,    6,   0,   1,   0,    0,  1,   0,   0,   32, 2,   'n', 's',
    0xc0, 16,   4,    'h',  'o', 's', 't', 0xc0, 16, 0,   0,   0,   7,  0,   0,   0,
    8,    0,    0,    0,    9,   0,   0,   0,    10, 0,   0,   0,   11};

static const char *write(eve_out *o, const uint8_t *msg, size_t len)
{
    flow f;
    memset(&f, 0, sizeof(f));
    f.ip_v = 4, f.proto = 17, f.cport = 40000, f.sport = 53, f.id = 7;
    memcpy(f.cli, (uint8_t[]){10, 0, 0, 1}, 4);
    memcpy(f.srv, (uint8_t[]){10, 0, 0, 53}, 4);
    fext x;
    memset(&x, 0, sizeof(x));
    x.cli_internal = x.srv_internal = true;
    x.dns_tx = 3;
    dns_msg m;
    dns_parse(msg, len, &m);
    eve_dns(o, &f, &x, &m, msg, len, 1000000, false);
    return eve_text(o, NULL);
}

static void test_response(void **state)
{
    (void)state;
    eve_out o;
    eve_out_init(&o, true, 0);
    const char *t = write(&o, RESP, sizeof(RESP));
    assert_non_null(strstr(t, "\"src_ip\":\"10.0.0.53\",\"src_port\":53"));
    assert_non_null(strstr(t, "\"egret_direction\":\"internal\""));
    assert_non_null(strstr(t, "\"version\":3,\"type\":\"response\",\"tx_id\":3,\"id\":4660,"
                              "\"flags\":\"8180\",\"qr\":true,\"rd\":true,\"ra\":true"));
    assert_non_null(strstr(t, "\"queries\":[{\"rrname\":\"Www.Example.COM\",\"rrtype\":\"TXT\"}]"));
    assert_non_null(strstr(t, "{\"rrname\":\"Www.Example.COM\",\"rrtype\":\"TXT\",\"ttl\":60,"
                              "\"rdata\":\"ab\"},{\"rrname\":\"Www.Example.COM\",\"rrtype\":"
                              "\"TXT\",\"ttl\":60,\"rdata\":\"\"}"));
    assert_non_null(strstr(t, "\"grouped\":{\"TXT\":[\"ab\",\"\"],\"A\":[\"192.0.2.1\"]}"));
    assert_non_null(strstr(t, "\"authorities\":[{\"rrname\":\"Example.COM\",\"rrtype\":\"SOA\","
                              "\"ttl\":256,\"soa\":{\"mname\":\"ns.Example.COM\",\"rname\":"
                              "\"host.Example.COM\",\"serial\":7,\"refresh\":8,\"retry\":9,"
                              "\"expire\":10,\"minimum\":11}}]"));
    assert_null(strstr(t, "additionals"));
    eve_out_free(&o);
}

/* Bytes outside printable ASCII in a name as \xNN (case kept), and an
 * rcode without a name as its number. */
static void test_escape_and_rcode(void **state)
{
    (void)state;
    eve_out o;
    eve_out_init(&o, false, 0);
    uint8_t msg[sizeof(RESP)];
    memcpy(msg, RESP, sizeof(RESP));
    msg[13] = 0x01; /* "Www" -> "\x01ww" */
    msg[3] = 0x8c;  /* rcode 12 */
    const char *t = write(&o, msg, sizeof(msg));
    assert_non_null(strstr(t, "\"rcode\":\"12\""));
    assert_non_null(
        strstr(t, "\"queries\":[{\"rrname\":\"\\\\x01ww.Example.COM\",\"rrtype\":\"TXT\"}]"));
    msg[3] = 0x83; /* NXDOMAIN: dns.c's name */
    t = write(&o, msg, sizeof(msg));
    assert_non_null(strstr(t, "\"rcode\":\"NXDOMAIN\""));
    eve_out_free(&o);
}

/* Every prefix of the message and a pointer loop: a record is still
 * written, valid JSON, with what could be read. */
static void test_cut_and_loop(void **state)
{
    (void)state;
    eve_out o;
    eve_out_init(&o, false, 0);
    for (size_t n = 12; n <= sizeof(RESP); n++) {
        const char *t = write(&o, RESP, n);
        assert_non_null(strstr(t, "\"version\":3"));
        assert_int_equal(t[strlen(t) - 1], '}');
    }
    uint8_t loop[sizeof(RESP)];
    memcpy(loop, RESP, sizeof(RESP));
    loop[33] = 0xc0, loop[34] = 33; /* the first answer's name points at itself */
    const char *t = write(&o, loop, sizeof(loop));
    assert_non_null(strstr(t, "\"queries\""));
    assert_null(strstr(t, "\"answers\""));
    eve_out_free(&o);
}

/* MX and SRV data (names compressed into the question's), and the end of
 * the header as on flow records: egret_direction, community_id,
 * pcap_filename. */
static void test_mx_srv_and_tail(void **state)
{
    (void)state;
    static const uint8_t msg[] = {0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0, 1, 'a', 0, 0, 33, 0, 1,
                                  /* MX 10 mx.a */
                                  0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 7, 0, 10, 2, 'm', 'x',
                                  0xc0, 12,
                                  /* SRV 1 2 443 srv.a */
                                  0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, 12, 0, 1, 0, 2, 0x01, 0xbb,
                                  3, 's', 'r', 'v', 0xc0, 12};
    eve_out o;
    eve_out_init(&o, true, 0);
    o.pcap_filename = "c.pcap";
    const char *t = write(&o, msg, sizeof(msg));
    assert_non_null(strstr(t, "\"egret_direction\":\"internal\",\"community_id\":\"1:"));
    assert_non_null(strstr(t, "\",\"pcap_filename\":\"c.pcap\",\"dns\":{"));
    assert_non_null(strstr(t, "\"answers\":[{\"rrname\":\"a\",\"rrtype\":\"MX\",\"ttl\":60,"
                              "\"rdata\":\"mx.a\"},{\"rrname\":\"a\",\"rrtype\":\"SRV\","
                              "\"ttl\":60,\"srv\":{\"priority\":1,\"weight\":2,\"port\":443,"
                              "\"name\":\"srv.a\"}}]"));
    assert_non_null(strstr(t, "\"grouped\":{\"MX\":[\"mx.a\"],\"SRV\":[{\"priority\":1,"));
    eve_out_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response),
        cmocka_unit_test(test_escape_and_rcode),
        cmocka_unit_test(test_cut_and_loop),
        cmocka_unit_test(test_mx_srv_and_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
