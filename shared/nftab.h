/*
 * Our own nftables tables (rdvd, masterd, onsitedev): one way to run a batch
 * and one way to drop a table, so every daemon logs a refused batch alike.
 */
#pragma once

struct nft_ctx;

/* a context whose output and errors are buffered (never on our stdout) */
struct nft_ctx *nftab_new(void);
/* runs a batch; its error is logged; -EIO when nftables refused it */
int nftab_run(struct nft_ctx *nft, const char *cmd);
/* removes table inet NAME whether it exists or not (add + delete in one batch) */
int nftab_reset(struct nft_ctx *nft, const char *table);
