/* rdvd.conf: every key validated, a bad value reported with its line. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net.h"

#define RDV_CONF_PATH "/etc/rdv/rdvd.conf"
#define CONF_STR 128
#define CONF_MAX_PATTERNS 32

struct access_rule {
	char master[CONF_STR];  /* pattern or @group */
	char onsite[CONF_MAX_PATTERNS][CONF_STR];
	unsigned n_onsite;
};

struct rdv_conf {
	char log_file[CONF_STR];
	char log_level[16];
	char run_dir[CONF_STR];

	struct cidr4 pool;
	char ifname_prefix[8];
	unsigned setup_timeout;

	char vtund_path[CONF_STR];
	char vtund_listen[16];
	unsigned port_base;

	unsigned uid_base;
	unsigned uid_count;
	char onsite_group[33];
	char master_group[33];
	char shell[CONF_STR];
	char keys_dir[CONF_STR];
	unsigned wait_master_timeout;

	unsigned idle_timeout;     /* s without traffic; 0: no limit */
	unsigned max_duration;     /* s from open; 0: no limit */
	unsigned connect_attempts; /* per master account and window; 0: no limit */
	unsigned connect_window;   /* s */

	char data_socket[CONF_STR]; /* "": run_dir/data.sock */
	char data_peer_user[33];     /* stunnel's user, allowed on data_socket besides root */

	unsigned table_base;
	unsigned rule_priority;
	char nft_table[32];

	struct access_rule *access; /* NULL: no access list, every master reaches every onsite */
	unsigned n_access;
};

void conf_defaults(struct rdv_conf *conf);
/* Reads and validates; on error returns -EINVAL and errors (one per line) in err. */
int conf_load(const char *path, struct rdv_conf *conf, char *err, size_t errlen);
int conf_parse_string(const char *text, struct rdv_conf *conf, char *err, size_t errlen);
void conf_release(struct rdv_conf *conf);
