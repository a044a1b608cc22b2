#include "nftab.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include "log.h"

struct nft_ctx *nftab_new(void)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);

	if (!nft)
		return NULL;
	if (nft_ctx_buffer_output(nft) < 0 || nft_ctx_buffer_error(nft) < 0) {
		nft_ctx_free(nft);
		return NULL;
	}
	return nft;
}

int nftab_run(struct nft_ctx *nft, const char *cmd)
{
	const char *err;

	if (nft_run_cmd_from_buffer(nft, cmd) == 0)
		return 0;
	err = nft_ctx_get_error_buffer(nft);
	log_err("nftables: %s", err && *err ? err : "command failed");
	return -EIO;
}

int nftab_reset(struct nft_ctx *nft, const char *table)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "add table inet %s\ndelete table inet %s\n", table, table);
	return nftab_run(nft, cmd);
}
