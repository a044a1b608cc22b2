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

	s->setup_timer = NULL;
	session_end(s->rdvd, s, "tunnels not up in time");
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
	s->next = d->sessions;
	d->sessions = s;
	master->session = s;
	onsite->session = s;
	if ((r = prepare_side(d, s, SIDE_MASTER, master)) < 0 ||
	    (r = prepare_side(d, s, SIDE_ONSITE, onsite)) < 0 ||
	    (r = loop_add_timer(d->loop, d->conf.setup_timeout * 1000ull, on_setup_timeout, s,
				&s->setup_timer)) < 0) {
		session_end(d, s, r == -ENOSPC ? "tunnel address pool exhausted"
					       : "cannot start the tunnels");
		return r;
	}
	log_info("session %u: opened, master %s, onsite %s, tunnels %s/%s", s->id, master->name,
		 onsite->name, s->side[SIDE_MASTER].ifname, s->side[SIDE_ONSITE].ifname);
	onsite->picked = true;
	device_wake(d, onsite, true);
	*out = s;
	return 0;
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
	s->glued = true;
	loop_cancel_timer(d->loop, s->setup_timer);
	s->setup_timer = NULL;
	log_info("session %u: established, master %s <-> onsite %s (%.1fs)", s->id,
		 s->side[SIDE_MASTER].dev->name, s->side[SIDE_ONSITE].dev->name,
		 (double)(now_ms() - s->started_ms) / 1000.0);
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
	for (int i = 0; i < 2; i++) {
		struct side *side = &s->side[i];
		vtund_stop(d, side);
		tun_delete(d, side);
		if (side->has_net)
			pool_release(d->pool, side->net);
		if (side->dev) {
			side->dev->session = NULL;
			side->dev->picked = false;
			device_session_over(d, side->dev, reason);
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
