/*
 * libFuzzer harness: get_vtun_parameters output as a device receives it.
 * Whatever is accepted must keep the promises of vtunparams.h: a crash here
 * is either a memory error or an accepted value a device must not use.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "net.h"
#include "vtunparams.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct vtun_params p;
	uint32_t net, ip, rdv;
	unsigned port;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (vtun_params_parse(text, &p, &net, &ip, &port) == 0) {
		if (port < 1 || port > 65535 || (net & 3) || (ip & ~3u) != net ||
		    ip4_parse(p.rdvip, &rdv) < 0 || (rdv & ~3u) != net || rdv == ip ||
		    (ip & 3) == 0 || (ip & 3) == 3 || (rdv & 3) == 0 || (rdv & 3) == 3 ||
		    strspn(p.port, "0123456789") != strlen(p.port) ||
		    strspn(p.secret, "0123456789abcdef") != strlen(p.secret) || strlen(p.secret) < 32 ||
		    !ifname_valid(p.session))
			abort();
	}
	free(text);
	return 0;
}
