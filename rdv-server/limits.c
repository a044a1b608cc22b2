/*
 * What keeps one master from holding an onsite device, or the broker, to
 * itself: an idle limit (no byte through either tunnel), an absolute limit
 * per session, and a limit on session attempts per master account.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "log.h"
#include "rdvd.h"

struct attempts {
	uid_t uid;
	uint64_t since_ms; /* start of this account's current window */
	unsigned count;
};

static bool limited(const struct rdv_conf *c) { return c->idle_timeout || c->max_duration; }

/* A fifth of the shortest limit, 1 to 30 s: ends are late by at most that. */
static uint64_t tick_ms(const struct rdv_conf *c)
{
	unsigned t = c->idle_timeout;

	if (c->max_duration && (!t || c->max_duration < t))
		t = c->max_duration;
	t /= 5;
	return (t < 1 ? 1 : t > 30 ? 30 : t) * 1000ull;
}

static uint64_t session_bytes(struct rdvd *d, struct session *s)
{
	uint64_t total = 0, relayed[2];

	if (s->relay) {
		relay_bytes(s, relayed);
		return relayed[0] + relayed[1];
	}
	for (int i = 0; i < 2; i++) {
		uint64_t rx = 0;
		if (s->side[i].ifindex > 0 && glue_link_stats(d, s->side[i].ifindex, &rx) == 0)
			total += rx;
	}
	return total;
}

static void check_session(struct rdvd *d, struct session *s, uint64_t now)
{
	const struct rdv_conf *c = &d->conf;
	char reason[96];
	uint64_t bytes;

	if (c->max_duration && now - s->started_ms >= c->max_duration * 1000ull) {
		snprintf(reason, sizeof(reason), "time limit of %u s reached", c->max_duration);
		session_end(d, s, reason);
		return;
	}
	if (!c->idle_timeout || !s->glued)
		return;
	bytes = session_bytes(d, s);
	if (bytes != s->activity_bytes) {
		s->activity_bytes = bytes;
		s->activity_ms = now;
	} else if (now - s->activity_ms >= c->idle_timeout * 1000ull) {
		snprintf(reason, sizeof(reason), "idle: no traffic for %u s", c->idle_timeout);
		session_end(d, s, reason);
	}
}

static void on_tick(void *data)
{
	struct rdvd *d = data;
	uint64_t now = now_ms();
	struct session *next;

	d->limits_timer = NULL;
	for (struct session *s = d->sessions; s; s = next) {
		next = s->next; /* ending s frees it, and only it */
		check_session(d, s, now);
	}
	limits_arm(d);
}

void limits_arm(struct rdvd *d)
{
	if (d->limits_timer || !d->sessions || !limited(&d->conf))
		return;
	if (loop_add_timer(d->loop, tick_ms(&d->conf), on_tick, d, &d->limits_timer) < 0)
		log_err("cannot arm the session time limits: out of memory");
}

void limits_session_glued(struct rdvd *d, struct session *s)
{
	s->activity_ms = now_ms();
	s->activity_bytes = session_bytes(d, s);
}

/* Counts an attempt of this master account; false once it is over the limit. */
bool limits_attempt_allowed(struct rdvd *d, uid_t uid)
{
	const struct rdv_conf *c = &d->conf;
	uint64_t now = now_ms(), window = c->connect_window * 1000ull;
	struct attempts *a = NULL, *grown;

	if (!c->connect_attempts)
		return true;
	for (size_t i = 0; i < d->n_attempts;) {
		if (now - d->attempts[i].since_ms >= window)
			d->attempts[i] = d->attempts[--d->n_attempts];
		else
			i++;
	}
	for (size_t i = 0; i < d->n_attempts; i++)
		if (d->attempts[i].uid == uid)
			a = &d->attempts[i];
	if (!a) {
		grown = realloc(d->attempts, (d->n_attempts + 1) * sizeof(*grown));
		if (!grown)
			return false; /* fail closed */
		d->attempts = grown;
		a = &d->attempts[d->n_attempts++];
		*a = (struct attempts){ uid, now, 0 };
	}
	if (a->count < c->connect_attempts) {
		a->count++;
		return true;
	}
	return false;
}

void limits_free(struct rdvd *d)
{
	loop_cancel_timer(d->loop, d->limits_timer);
	d->limits_timer = NULL;
	free(d->attempts);
	d->attempts = NULL;
	d->n_attempts = 0;
}
