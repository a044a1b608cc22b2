/*
 * A session pairs a master with an onsite device: two /30s, two vtund
 * servers, and once both tunnels are up, the routing and NAT that glue them.
 * session_end() undoes every step that was taken, whatever the cause.
 */
#include <errno.h>
#include <linux/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "child.h"
#include "log.h"
#include "rdvd.h"

#define GLUE_NFT 0x100

unsigned session_count(const struct rdvd *d)
{
	unsigned n = 0;

	for (const struct session *s = d->sessions; s; s = s->next)
		n++;
	return n;
}

/* Smallest unused id: ids name tunnels and routing tables. */
static unsigned free_id(const struct rdvd *d)
{
	for (unsigned id = 0;; id++) {
		const struct session *s = d->sessions;
		while (s && s->id != id)
			s = s->next;
		if (!s)
			return id;
	}
}

static void on_setup_timeout(void *data)
{
	struct session *s = data;
	char reason[160];

	s->setup_timer = NULL;
	if (!s->relay) {
		session_end(s->rdvd, s, "tunnels not up in time");
		return;
	}
	snprintf(reason, sizeof(reason), "not attached to the data path in time: %s%s%s",
		 s->rs[SIDE_MASTER].state != TICKET_USED ? s->side[SIDE_MASTER].dev->name : "",
		 s->rs[SIDE_MASTER].state != TICKET_USED && s->rs[SIDE_ONSITE].state != TICKET_USED
			 ? ", " : "",
		 s->rs[SIDE_ONSITE].state != TICKET_USED ? s->side[SIDE_ONSITE].dev->name : "");
	session_end(s->rdvd, s, reason);
}

static int prepare_side(struct rdvd *d, struct session *s, enum side_idx i, struct device *dev)
{
	struct side *side = &s->side[i];
	int r;

	side->dev = dev;
	side->port = d->conf.port_base + (unsigned)(dev->uid - d->conf.uid_base);
	snprintf(side->ifname, sizeof(side->ifname), "%s%u%c", d->conf.ifname_prefix, s->id,
		 i == SIDE_MASTER ? 'm' : 'o');
	r = pool_alloc(d->pool, &side->net);
	if (r < 0)
		return r;
	side->has_net = true;
	r = tun_create(d, side);
	if (r < 0)
		return r;
	return vtund_start(d, s, i);
}

/*
 * Relay: one /30 for the session (master .1, onsite .2), one vtun secret for
 * the two devices' own vtund, a ticket per side; nothing in this namespace.
 */
static int prepare_relay(struct rdvd *d, struct session *s, struct device *master,
			 struct device *onsite)
{
	struct side *m = &s->side[SIDE_MASTER], *o = &s->side[SIDE_ONSITE];
	int r;

	s->relay = true;
	m->dev = master;
	o->dev = onsite;
	for (int i = 0; i < 2; i++)
		s->side[i].port = d->conf.port_base + (unsigned)(s->side[i].dev->uid - d->conf.uid_base);
	if ((r = pool_alloc(d->pool, &m->net)) < 0)
		return r;
	m->has_net = true;
	o->net = m->net;
	if ((r = random_hex(m->secret, 20)) < 0)
		return r;
	memcpy(o->secret, m->secret, sizeof(o->secret));
	return relay_session_open(d, s);
}

/* Undoes what set-up made (vtund, tun, addresses); the devices were never linked. */
static void release_sides(struct rdvd *d, struct session *s)
{
	for (int i = 0; i < 2; i++) {
		struct side *side = &s->side[i];
		vtund_stop(d, side);
		tun_delete(d, side);
		if (side->has_net)
			pool_release(d->pool, side->net);
		side->has_net = false;
	}
}

/*
 * Both sides are made first; only a session with everything in place is
 * linked to its devices and the session list. A failure half-way leaves
 * nothing to undo in the devices: the refused session is freed here.
 */
int session_open(struct rdvd *d, struct device *master, struct device *onsite,
		 struct session **out)
{
	struct session *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->rdvd = d;
	s->id = free_id(d);
	s->started = time(NULL);
	s->started_ms = now_ms();
	s->rs[0].fd = s->rs[1].fd = -1;
	if (master->relay && onsite->relay)
		r = prepare_relay(d, s, master, onsite);
	else if ((r = prepare_side(d, s, SIDE_MASTER, master)) == 0)
		r = prepare_side(d, s, SIDE_ONSITE, onsite);
	if (r < 0 ||
	    (r = loop_add_timer(d->loop, d->conf.setup_timeout * 1000ull, on_setup_timeout, s,
				&s->setup_timer)) < 0) {
		log_warn("session %u: not opened, master %s, onsite %s: %s (%s)", s->id, master->name,
			 onsite->name, r == -ENOSPC ? "tunnel address pool exhausted"
						    : "cannot start the tunnels", strerror(-r));
		release_sides(d, s);
		relay_session_end(d, s);
		free(s);
		return r;
	}
	s->next = d->sessions;
	d->sessions = s;
	master->session = s;
	onsite->session = s;
	if (s->relay)
		log_info("session %u: opened, master %s, onsite %s, data path relay", s->id,
			 master->name, onsite->name);
	else
		log_info("session %u: opened, master %s, onsite %s, tunnels %s/%s, data path classic",
			 s->id, master->name, onsite->name, s->side[SIDE_MASTER].ifname,
			 s->side[SIDE_ONSITE].ifname);
	limits_arm(d);
	onsite->picked = true;
	device_wake(d, onsite, true);
	*out = s;
	return 0;
}

static void established(struct rdvd *d, struct session *s)
{
	s->glued = true;
	limits_session_glued(d, s);
	loop_cancel_timer(d->loop, s->setup_timer);
	s->setup_timer = NULL;
	log_info("session %u: established, master %s <-> onsite %s (%.1fs)", s->id,
		 s->side[SIDE_MASTER].dev->name, s->side[SIDE_ONSITE].dev->name,
		 (double)(now_ms() - s->started_ms) / 1000.0);
}

/* Both devices attached to the data path: join them. */
void session_relay_established(struct rdvd *d, struct session *s)
{
	if (relay_join(d, s) < 0) {
		session_end(d, s, "cannot join the two data connections");
		return;
	}
	established(d, s);
}

static void glue(struct rdvd *d, struct session *s)
{
	int r;

	r = glue_add(d, s);
	if (r == 0) {
		r = nft_session_add(d, s);
		if (r == 0)
			s->glue_flags |= GLUE_NFT;
	}
	if (r < 0) {
		session_end(d, s, "cannot set up routing between the tunnels");
		return;
	}
	established(d, s);
}

/* The carrier of a tun is vtund being attached: the tunnel's link is there. */
void session_link_event(struct rdvd *d, int ifindex, unsigned flags, bool gone, uint64_t rx_bytes)
{
	for (struct session *s = d->sessions; s; s = s->next) {
		for (int i = 0; i < 2; i++) {
			struct side *side = &s->side[i];
			bool carrier = (flags & IFF_UP) && (flags & IFF_LOWER_UP);
			char reason[64];

			if (side->ifindex != ifindex)
				continue;
			if (rx_bytes != UINT64_MAX) /* unknown when the link is already gone */
				side->rx_bytes = rx_bytes;
			if (gone || (side->link_up && !carrier)) {
				if (gone)
					side->has_tun = false;
				snprintf(reason, sizeof(reason), "%s tunnel %s", side_name(i),
					 gone ? "interface removed" : "closed");
				session_end(d, s, reason);
				return;
			}
			if (carrier && !side->link_up) {
				side->link_up = true;
				log_info("session %u: %s tunnel %s up (%s)", s->id, side_name(i),
					 side->ifname, side->dev->name);
				if (s->side[!i].link_up)
					glue(d, s);
			}
			return;
		}
	}
}

static void format_bytes(uint64_t b, char *buf, size_t len)
{
	if (b >= 10ull << 20)
		snprintf(buf, len, "%.1f MiB", (double)b / (1 << 20));
	else if (b >= 10ull << 10)
		snprintf(buf, len, "%.1f KiB", (double)b / 1024);
	else
		snprintf(buf, len, "%llu B", (unsigned long long)b);
}

void session_end(struct rdvd *d, struct session *s, const char *reason)
{
	char up[24], down[24];
	long secs = (long)(time(NULL) - s->started);

	for (struct session **p = &d->sessions; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	loop_cancel_timer(d->loop, s->setup_timer);
	for (int i = 0; i < 2; i++)
		if (s->side[i].ifindex > 0)
			glue_link_stats(d, s->side[i].ifindex, &s->side[i].rx_bytes);
	if (s->glue_flags & GLUE_NFT)
		nft_session_del(d, s);
	glue_del(d, s);
	release_sides(d, s);
	if (s->relay) {
		relay_session_end(d, s);
		s->side[SIDE_MASTER].rx_bytes = s->relay_bytes[0];
		s->side[SIDE_ONSITE].rx_bytes = s->relay_bytes[1];
	}
	for (int i = 0; i < 2; i++) {
		struct device *dev = s->side[i].dev;
		if (dev && dev->session == s) {
			dev->session = NULL;
			dev->picked = false;
			device_session_over(d, dev, reason);
		}
	}
	format_bytes(s->side[SIDE_MASTER].rx_bytes, up, sizeof(up));
	format_bytes(s->side[SIDE_ONSITE].rx_bytes, down, sizeof(down));
	log_info("session %u: ended, master %s, onsite %s, duration %lds, "
		 "master->onsite %s, onsite->master %s, reason: %s",
		 s->id, s->side[SIDE_MASTER].dev ? s->side[SIDE_MASTER].dev->name : "?",
		 s->side[SIDE_ONSITE].dev ? s->side[SIDE_ONSITE].dev->name : "?", secs, up, down,
		 reason);
	free(s);
}

void session_end_all(struct rdvd *d, const char *reason)
{
	while (d->sessions)
		session_end(d, d->sessions, reason);
}

/*
 * SIGHUP: the access list and the session limits take effect at once. A
 * session the new list no longer allows ends now; the new time limits apply
 * to the sessions under way.
 */
void session_reload_conf(struct rdvd *d)
{
	char err[2048] = "", reason[160];
	struct rdv_conf fresh;
	struct session *next;
	unsigned ended = 0;

	if (!d->conf_path || conf_load(d->conf_path, &fresh, err, sizeof(err)) < 0) {
		log_err("SIGHUP: configuration not reloaded:");
		for (char *line = strtok(err, "\n"); d->conf_path && line; line = strtok(NULL, "\n"))
			log_err("  %s", line);
		return;
	}
	conf_release(&d->conf);
	d->conf.access = fresh.access;
	d->conf.n_access = fresh.n_access;
	d->conf.idle_timeout = fresh.idle_timeout;
	d->conf.max_duration = fresh.max_duration;
	d->conf.connect_attempts = fresh.connect_attempts;
	d->conf.connect_window = fresh.connect_window;
	log_info("SIGHUP: log reopened, access list reloaded (%u entries), idle limit %u s, "
		 "time limit %u s, %u session attempts per %u s", fresh.n_access, fresh.idle_timeout,
		 fresh.max_duration, fresh.connect_attempts, fresh.connect_window);
	for (struct session *s = d->sessions; s; s = next) {
		const char *m = s->side[SIDE_MASTER].dev->name, *o = s->side[SIDE_ONSITE].dev->name;
		next = s->next;
		if (acl_allows(&d->conf, m, o))
			continue;
		snprintf(reason, sizeof(reason), "access list reloaded: %s may no longer reach %s", m, o);
		session_end(d, s, reason);
		ended++;
	}
	if (ended)
		log_info("SIGHUP: %u session%s ended by the new access list", ended, ended == 1 ? "" : "s");
	/* a timer armed for the old limits may be far too late for the new ones */
	loop_cancel_timer(d->loop, d->limits_timer);
	d->limits_timer = NULL;
	limits_arm(d);
}
