#pragma once
#include "conf.h"

int account_add(const struct rdv_conf *conf, int argc, char **argv);
int account_del(const struct rdv_conf *conf, int argc, char **argv);
int account_list(const struct rdv_conf *conf, int argc, char **argv);
/* runs argv (absolute path), waits; returns the exit status or -errno */
int run_wait(char *const argv[], bool quiet);
/* asks rdvd to log the device out and end its session; 0, or 1 if rdvd could not be told */
int admin_revoke(const char *name);
