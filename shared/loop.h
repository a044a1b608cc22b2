/*
 * The one event loop of a daemon: file descriptors (poll), one-shot timers,
 * and signals through a signalfd. Single-threaded; callbacks may add or
 * remove sources, including themselves.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_fd;
struct loop_timer;

typedef void (*loop_fd_cb)(int fd, short revents, void *data);
typedef void (*loop_timer_cb)(void *data);
typedef void (*loop_signal_cb)(int signo, void *data);

int loop_new(struct loop **out);
void loop_free(struct loop *loop);

int loop_add_fd(struct loop *loop, int fd, short events, loop_fd_cb cb, void *data,
		struct loop_fd **out);
void loop_fd_set_events(struct loop_fd *src, short events);
void loop_remove_fd(struct loop *loop, struct loop_fd *src);

int loop_add_timer(struct loop *loop, uint64_t ms, loop_timer_cb cb, void *data,
		   struct loop_timer **out);
void loop_cancel_timer(struct loop *loop, struct loop_timer *t);

/* Blocks the given signals and delivers them through the loop. */
int loop_add_signals(struct loop *loop, const int *signals, int n, loop_signal_cb cb, void *data);

int loop_run(struct loop *loop); /* until loop_quit */
int loop_iterate(struct loop *loop, int max_wait_ms);
void loop_quit(struct loop *loop, int status);
uint64_t now_ms(void);
