/* libFuzzer harness: rdvd.conf as libconfig text, through our validation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[4096];
	struct rdv_conf conf;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (conf_parse_string(text, &conf, err, sizeof(err)) == 0)
		conf_release(&conf);
	free(text);
	return 0;
}
