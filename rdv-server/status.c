/*
 * rdvd's read-only Status (admin interface): how much of the /30 pool and
 * which vtund ports (one per device account, port_base + uid - uid_base) are
 * held, and by whom. Idle, the pool is empty and no port is held: what the
 * soak test (tests/soak/soak.sh) checks after every session.
 */
#include <errno.h>
#include "dbusloop.h"
#include "rdvd.h"

static void append_port(DBusMessageIter *arr, const struct session *s, enum side_idx i)
{
	const struct side *side = &s->side[i];
	const char *dev = side->dev ? side->dev->name : "", *sname = side_name(i);
	dbus_uint32_t port = side->port, id = s->id;
	DBusMessageIter st;

	dbus_message_iter_open_container(arr, DBUS_TYPE_STRUCT, NULL, &st);
	dbus_message_iter_append_basic(&st, DBUS_TYPE_UINT32, &port);
	dbus_message_iter_append_basic(&st, DBUS_TYPE_UINT32, &id);
	dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &dev);
	dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &sname);
	dbus_message_iter_close_container(arr, &st);
}

/* (pool used, pool size, sessions, devices online, ports held: port, session, device, side) */
DBusMessage *bus_admin_status(struct rdvd *d, DBusMessage *m, struct device *unused)
{
	dbus_uint32_t used = pool_used(d->pool), size = pool_size(d->pool);
	dbus_uint32_t sessions = session_count(d), devices = 0;
	DBusMessage *r = dbus_message_new_method_return(m);
	DBusMessageIter it, arr;

	(void)unused;
	if (!r)
		return dbus_reply_errno(m, -ENOMEM, "out of memory");
	for (const struct device *dev = d->devices; dev; dev = dev->next)
		devices++;
	dbus_message_iter_init_append(r, &it);
	dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT32, &used);
	dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT32, &size);
	dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT32, &sessions);
	dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT32, &devices);
	dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "(uuss)", &arr);
	for (const struct session *s = d->sessions; s; s = s->next)
		for (int i = 0; i < 2; i++)
			if (s->side[i].dev)
				append_port(&arr, s, (enum side_idx)i);
	dbus_message_iter_close_container(&it, &arr);
	return r;
}
