/* libFuzzer harness: get_vtun_parameters output as a device receives it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "vtunparams.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct vtun_params p;
	uint32_t net, ip;
	unsigned port;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	vtun_params_parse(text, &p, &net, &ip, &port);
	free(text);
	return 0;
}
