/* rdv-shell internals shared by its main loop and its commands. */
#pragma once
#include <dbus/dbus.h>
#include <stdbool.h>
#include "loop.h"
#include "shell-parse.h"

struct shell {
	DBusConnection *bus;
	struct loop *loop;
	char user[33];
	unsigned role;        /* R_ONSITE or R_MASTER */
	bool debug;
	bool busy;            /* a call to rdvd is under way */
	bool waiting;         /* ... and it waits for an event (a master, a session end) */
	bool quitting;
	unsigned wait_timeout_ms;
};

/* Runs one parsed command; done() is called when its output is complete. */
void shell_run(struct shell *sh, const struct shell_cmd *cmd);
void shell_done(struct shell *sh);
void shell_print_help(const struct shell *sh);
