/*
 * A device's control connection to the RDV server: a supervised stunnel
 * client (TLS on 443, the server's certificate pinned) carrying a supervised
 * OpenSSH control connection (key only, host key pinned) whose login shell
 * is rdv-shell, driven one command line at a time.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "loop.h"

struct rdvlink_conf {
	char device[32];       /* account on the RDV server */
	char host[128];        /* RDV server */
	unsigned port;         /* 443 (TLS) or sshd's port */
	bool tls;
	char certificate[128]; /* pinned TLS certificate of the RDV server */
	char ssh_key[128];
	char known_hosts[128]; /* pinned SSH host key, listed under host */
	char run_dir[128];
	unsigned local_port;   /* stunnel's local end */
	char data_path[8];     /* "relay" (announced, TLS only) or "classic" */
	unsigned data_local_port; /* stunnel's local end of the data service (SNI rdv-data) */
};

extern const char *const rdvlink_data_paths[];

/* The configuration keys of a link, for a device's key table (confspec.h). */
#define RDVLINK_CONF_KEYS(type, field)                                                   \
	CONF_STRING(type, NULL, "device", K_DEVICE, field.device),                       \
	CONF_STRING(type, NULL, "ssh_key", K_PATH, field.ssh_key),                       \
	CONF_STRING(type, NULL, "run_dir", K_PATH, field.run_dir),                       \
	CONF_STRING(type, "rdv", "host", K_HOST, field.host),                            \
	CONF_NUMBER(type, "rdv", "port", field.port, 1, 65535),                          \
	CONF_BOOLEAN(type, "rdv", "tls", field.tls),                                     \
	CONF_STRING(type, "rdv", "certificate", K_PATH, field.certificate),              \
	CONF_STRING(type, "rdv", "known_hosts", K_PATH, field.known_hosts),              \
	CONF_NUMBER(type, "rdv", "local_port", field.local_port, 1024, 65535),           \
	CONF_CHOICE(type, "rdv", "data_path", field.data_path, rdvlink_data_paths),      \
	CONF_NUMBER(type, "rdv", "data_local_port", field.data_local_port, 1024, 65535)

/* defaults of a link, and the check that the required keys are there */
void rdvlink_conf_defaults(struct rdvlink_conf *c, const char *run_dir);
const char *rdvlink_conf_missing(const struct rdvlink_conf *c);

struct rdvlink;
/* what the command printed before the next prompt, and on stderr (its errors) */
typedef void (*rdvlink_reply_fn)(struct rdvlink *l, const char *output, const char *errors,
				 void *data);
/* the link is ready (first prompt), or gone (why): it comes back by itself */
typedef void (*rdvlink_state_fn)(struct rdvlink *l, bool up, const char *why, void *data);

/* Connects, and reconnects after every failure with bounded, jittered backoff. */
int rdvlink_start(struct loop *loop, const struct rdvlink_conf *conf, rdvlink_state_fn state,
		  void *data, struct rdvlink **out);
/* Sends one line (queued behind the one under way); reply is called once its
 * output is complete. Queued commands are dropped if the link goes down. */
int rdvlink_cmd(struct rdvlink *l, const char *line, unsigned timeout_s, rdvlink_reply_fn reply,
		void *data);
/* ssh -O forward/cancel -L 127.0.0.1:local:127.0.0.1:remote over the control socket */
int rdvlink_forward(struct rdvlink *l, unsigned local_port, unsigned remote_port, bool add);
/*
 * The first error line of a shell command, "CMD: WORDS [TOKEN]": its token
 * (the D-Bus error name; "" from a shell that sends none) into token, and its
 * words without the command name into words. Decide by the token.
 */
void rdvlink_error(const char *errors, char *token, size_t token_len, char *words,
		   size_t words_len);
bool rdvlink_up(const struct rdvlink *l);
const struct rdvlink_conf *rdvlink_conf_of(const struct rdvlink *l);
/* relay announced on this link: the RDV server may then answer with relay parameters */
bool rdvlink_relay(const struct rdvlink *l);
/* why the link is down, for the people waiting on it */
const char *rdvlink_last_error(const struct rdvlink *l);
/* Stops ssh and stunnel for good; the state callback is not called. Accepts NULL. */
void rdvlink_stop(struct rdvlink *l);
