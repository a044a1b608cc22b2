/*
 * A device's attach to the relay data path: connect to the local stunnel
 * client's data service (TLS, SNI rdv-data, the RDV certificate pinned),
 * sign "DEVICE\nTICKET\n" with the device's SSH key (ssh-keygen -Y sign,
 * namespace rdv-data@rdvkit), send "attach DEVICE TICKET SIG" and wait for
 * the RDV server's "ok". The socket then carries the session's vtun stream.
 */
#pragma once
#include "loop.h"
#include "rdvlink.h"

#define DATALINK_NAMESPACE "rdv-data@rdvkit"

struct datalink;
/* fd >= 0: attached, the caller owns it; else why says what failed */
typedef void (*datalink_done_fn)(struct datalink *dl, int fd, const char *why, void *data);

int datalink_start(struct loop *loop, const struct rdvlink_conf *conf, const char *ticket,
		   datalink_done_fn done, void *data, struct datalink **out);
/* Stops whatever is under way; done is not called. Accepts NULL. */
void datalink_stop(struct datalink *dl);

/* TLS 1.3 suites in order of preference for a CPU described by cpuinfo
 * (/proc/cpuinfo's text): AES-GCM first with AES instructions, else ChaCha20. */
const char *datalink_ciphersuites(const char *cpuinfo);
/* the same for this machine (read once) */
const char *datalink_ciphersuites_local(void);
