#include <stdio.h>
#include <string.h>
#include "check.h"
#include "datalink.h"
#include "net.h"
#include "rdvlink.h"
#include "util.h"
#include "vtunparams.h"

#define VTUN_GOOD "tunnel_ip_network: 192.168.128.4\ntunnel_ip_prefix: /30\n" \
	"tunnel_ip_netmask: 255.255.255.252\ntunnelling_dev_ip_address: 192.168.128.6\n" \
	"rdv_server_ip_address: 192.168.128.5\nrdv_server_vtun_tcp_port: 20000\n" \
	"tunnel_secret: 0123456789abcdef0123456789abcdef01234567\ntunnel_session_name: rdv3m\n"

/* VTUN_GOOD with one line replaced */
static int vtun_with(const char *key, const char *value)
{
	char text[1024], out[1100] = "";
	struct vtun_params p;
	uint32_t net, ip;
	unsigned port;

	snprintf(text, sizeof(text), "%s", VTUN_GOOD);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s: %s\n", key, value);
		else
			snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s\n", line);
	}
	return vtun_params_parse(out, &p, &net, &ip, &port);
}

static void test_vtun_params(void)
{
	static const struct { const char *key, *value; } bad[] = {
		{ "rdv_server_vtun_tcp_port", "20000x" }, { "rdv_server_vtun_tcp_port", "+20000" },
		{ "rdv_server_vtun_tcp_port", " 20000" }, { "rdv_server_vtun_tcp_port", "-1" },
		{ "rdv_server_vtun_tcp_port", "65536" },  { "rdv_server_vtun_tcp_port", "0" },
		{ "rdv_server_vtun_tcp_port", "" },
		{ "tunnelling_dev_ip_address", "10.0.0.2" },       /* outside the /30 */
		{ "tunnelling_dev_ip_address", "192.168.128.4" },  /* its network address */
		{ "tunnelling_dev_ip_address", "192.168.128.7" },  /* its broadcast */
		{ "tunnelling_dev_ip_address", "192.168.128.5" },  /* the RDV's end */
		{ "rdv_server_ip_address", "192.168.129.5" },
		{ "tunnel_ip_network", "192.168.128.5" },          /* not a /30 network */
		{ "tunnel_ip_prefix", "/24" },
		{ "tunnel_ip_netmask", "255.255.255.0" },
		{ "tunnel_secret", "0123456789ABCDEF0123456789abcdef01234567" },
		{ "tunnel_session_name", "rdv3m;x" },
	};
	struct vtun_params p;
	uint32_t net, ip;
	unsigned port;

	CHECK(vtun_params_parse(VTUN_GOOD, &p, &net, &ip, &port) == 0 && net == 0xc0a88004 &&
	      ip == 0xc0a88006 && port == 20000, "good vtun parameters accepted");
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		CHECK(vtun_with(bad[i].key, bad[i].value) < 0, "vtun %s '%s' refused", bad[i].key,
		      bad[i].value);
}

#define RELAY_KEYS "data_path: relay\ndata_ticket: 00112233445566778899aabbccddeeff\n" \
	"vtun_role: server\n"

static void test_vtun_relay(void)
{
	static const char *const bad[] = {
		"data_path: relay\ndata_ticket: 00112233445566778899aabbccddeeff\n", /* no role */
		"data_path: relay\ndata_ticket: 00112233445566778899aabbccddeef\nvtun_role: server\n",
		"data_path: relay\ndata_ticket: 00112233445566778899AABBCCDDEEFF\nvtun_role: server\n",
		"data_path: relay\ndata_ticket: 00112233445566778899aabbccddeeff\nvtun_role: both\n",
		"data_path: tunnel\ndata_ticket: 00112233445566778899aabbccddeeff\nvtun_role: server\n",
		"data_ticket: 00112233445566778899aabbccddeeff\n", /* a ticket without a data path */
	};
	char text[1024];
	struct vtun_params p;
	uint32_t net, ip;
	unsigned port;

	CHECK(vtun_params_parse(VTUN_GOOD RELAY_KEYS, &p, &net, &ip, &port) == 0 &&
	      !strcmp(p.data_path, "relay") && !strcmp(p.role, "server") &&
	      !strcmp(p.ticket, "00112233445566778899aabbccddeeff"), "relay parameters accepted");
	CHECK(vtun_params_parse(VTUN_GOOD, &p, &net, &ip, &port) == 0 && !p.data_path[0],
	      "classic parameters: no data path");
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(text, sizeof(text), "%s%s", VTUN_GOOD, bad[i]);
		CHECK(vtun_params_parse(text, &p, &net, &ip, &port) < 0, "relay keys %zu refused", i);
	}
}

static void test_ciphersuites(void)
{
	const char *x86_aes = "processor\t: 0\nflags\t\t: fpu vme sse2 aes avx\n";
	const char *x86_none = "processor\t: 0\nflags\t\t: fpu vme sse2 avx aesx xaes\n";
	const char *pi4 = "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n";
	const char *a72_crypto = "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n";

	CHECK(!strncmp(datalink_ciphersuites(x86_aes), "TLS_AES_128_GCM", 15),
	      "x86 with aes: AES-GCM first");
	CHECK(!strncmp(datalink_ciphersuites(x86_none), "TLS_CHACHA20", 12),
	      "x86 without the aes word (aesx, xaes are not it): ChaCha20 first");
	CHECK(!strncmp(datalink_ciphersuites(pi4), "TLS_CHACHA20", 12), "Pi 4 (no aes): ChaCha20 first");
	CHECK(!strncmp(datalink_ciphersuites(a72_crypto), "TLS_AES_128_GCM", 15),
	      "arm64 with the aes feature: AES-GCM first");
	CHECK(!strncmp(datalink_ciphersuites(""), "TLS_CHACHA20", 12), "unknown CPU: ChaCha20 first");
	CHECK(strstr(datalink_ciphersuites(pi4), "TLS_AES_128_GCM_SHA256") &&
	      strstr(datalink_ciphersuites(x86_aes), "TLS_CHACHA20_POLY1305_SHA256"),
	      "both lists offer both");
}

static void test_dns_filter(void)
{
	char out[128];
	struct cidr4 a = { 0xc0a80000, 24 }, b = { 0xc0a826e1, 28 }, c = { 0xc0a82700, 24 };

	CHECK(ip4_server_list("127.0.0.53 0.0.0.0 255.255.255.255 10.1.0.20 224.0.0.251 127.1.2.3 "
			      "bad 8.8.8.8", 4, out, sizeof(out)) == 2 && !strcmp(out, "10.1.0.20 8.8.8.8"),
	      "DNS servers filtered: loopback, 0.0.0.0, broadcast, multicast and junk dropped, got '%s'", out);
	CHECK(ip4_server_list("1.1.1.1 1.1.1.2 1.1.1.3", 2, out, sizeof(out)) == 2 &&
	      !strcmp(out, "1.1.1.1 1.1.1.2"), "DNS server list bounded");
	a.addr = 0xc0a82600;
	CHECK(cidr4_overlap(&a, &b) && cidr4_overlap(&b, &a) && !cidr4_overlap(&b, &c), "overlapping networks");
	char t[] = "a\x1b[2Jb\nc\x7f\x9b";
	CHECK(!strcmp(str_printable(t), "a?[2Jb?c??"), "control characters made printable");
}

int main(void)
{
	static const char *const good_ip[] = { "0.0.0.0", "192.168.1.10", "255.255.255.255", "10.0.0.1" };
	static const char *const bad_ip[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4",
		"1.2.3.4 ", " 1.2.3.4", "1..2.3", "a.b.c.d", "1.2.3.-4", "0x1.2.3.4", "1.2.3.1000",
		"1.2.3.4/24" };
	static const char *const bad_cidr[] = { "1.2.3.4", "1.2.3.4/", "1.2.3.4/33", "1.2.3.4/024",
		"1.2.3/24", "1.2.3.4/2x", "/24", "1.2.3.4//24", "1.2.3.4/-1", "999.2.3.4/8" };
	struct cidr4 c;
	uint32_t a;
	char buf[32];

	for (size_t i = 0; i < sizeof(good_ip) / sizeof(*good_ip); i++) {
		CHECK(ip4_parse(good_ip[i], &a) == 0, "'%s' accepted", good_ip[i]);
		ip4_format(a, buf, sizeof(buf));
		CHECK(!strcmp(buf, good_ip[i]), "'%s' round-trips, got '%s'", good_ip[i], buf);
	}
	for (size_t i = 0; i < sizeof(bad_ip) / sizeof(*bad_ip); i++)
		CHECK(ip4_parse(bad_ip[i], &a) < 0, "'%s' refused", bad_ip[i]);
	for (size_t i = 0; i < sizeof(bad_cidr) / sizeof(*bad_cidr); i++)
		CHECK(cidr4_parse(bad_cidr[i], &c) < 0, "'%s' refused", bad_cidr[i]);
	CHECK(cidr4_parse("192.168.1.10/24", &c) == 0 && c.addr == 0xc0a8010a && c.prefix == 24,
	      "192.168.1.10/24 parsed");
	cidr4_format(&c, buf, sizeof(buf));
	CHECK(!strcmp(buf, "192.168.1.10/24"), "cidr formats back");
	CHECK(cidr4_parse("10.0.0.0/0", &c) == 0 && c.prefix == 0, "/0 parses");
	CHECK(prefix_to_mask(30) == 0xfffffffc && prefix_to_mask(0) == 0 && prefix_to_mask(32) == ~0u,
	      "prefix masks");
	CHECK(device_name_valid("rpi1100") && device_name_valid("a") && device_name_valid("site-3_b"),
	      "device names accepted");
	CHECK(!device_name_valid("") && !device_name_valid("1rpi") && !device_name_valid("Rpi") &&
	      !device_name_valid("rpi 1") && !device_name_valid("rpi;id") &&
	      !device_name_valid("abcdefghijklmnopqrstuvwxyz012345"), "bad device names refused");
	CHECK(hostname_valid("plc-1.customer.lan") && !hostname_valid("a b") && !hostname_valid("") &&
	      !hostname_valid("x'y"), "host names");
	/* peer text: escapes neutralized, UTF-8 kept, cut safely */
	CHECK(!strcmp(peer_text("a\x1b[2Jb\r\n\x7f", buf, sizeof(buf)), "a\\x1b[2Jb\\x0d\\x0a\\x7f"),
	      "C0 and DEL escaped: %s", buf);
	CHECK(!strcmp(peer_text("caf\xc3\xa9 \xc2\x9b" "31m \xff\xc0\x80", buf, sizeof(buf)),
		      "caf\xc3\xa9 \\xc2\\x9b31m \\xff\\xc0\\x80"), "UTF-8 kept, C1 and bad bytes escaped: %s", buf);
	CHECK(!strcmp(peer_text("ab\x1b", buf, 5), "ab") && !strcmp(peer_text("\xc3\xa9\xc3\xa9", buf, 4), "\xc3\xa9"),
	      "cut whole, never half an escape or character");
	/* the shell's error lines: decided by the token, never the words */
	{
		char tok[64], words[128];
		rdvlink_error("connect_to_onsite_dev: rpi1: busy in another session [org.rdvkit.Error.Busy]\n"
			      "more\n", tok, sizeof(tok), words, sizeof(words));
		CHECK(!strcmp(tok, "org.rdvkit.Error.Busy") && !strcmp(words, "rpi1: busy in another session"),
		      "token and words split: '%s' '%s'", tok, words);
		rdvlink_error("connect_to_onsite_dev: rpi1: not allowed for m1", tok, sizeof(tok), words,
			      sizeof(words));
		CHECK(!tok[0] && !strcmp(words, "rpi1: not allowed for m1"), "no token: none invented");
		rdvlink_error("x: a [b c]", tok, sizeof(tok), words, sizeof(words));
		CHECK(!tok[0] && !strcmp(words, "a [b c]"), "brackets that are not a name are words");
		rdvlink_error("", tok, sizeof(tok), words, sizeof(words));
		CHECK(!tok[0] && !words[0], "empty");
	}
	CHECK(random_hex(buf, 8) == 0 && strlen(buf) == 16, "random hex length");
	test_vtun_params();
	test_dns_filter();
	test_vtun_relay();
	test_ciphersuites();
	return check_summary();
}
