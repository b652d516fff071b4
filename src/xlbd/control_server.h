/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The daemon's side of the control API (src/lib/control.h): listens on the
 * unix socket and applies each request to the state. */
#ifndef XLB_CONTROL_SERVER_H
#define XLB_CONTROL_SERVER_H

#include "control.h"
#include "state.h"

#define CONTROL_ERRLEN 1024

struct control_server;
/* Listen on path; refuses a path where another xlbd listens, or that is
 * not a socket. */
int control_listen(struct control_server **srvp, const char *path, struct state *st,
		   char *err, size_t errlen);
/* One fd for the main loop to poll: readable when a connection is ready
 * or a deadline passed. */
int control_fd(const struct control_server *srv);
/* Give every ready connection one turn (accept, read a part of the
 * request, answer a whole one, write a part of a reply); close those past
 * their deadline. Never blocks. */
void control_serve(struct control_server *srv);
void control_close(struct control_server *srv);

/* {"ok": false, "error": msg}. */
struct json_object *control_reply_error(const char *msg);

/* Handle one decoded request against the state (exposed for tests). */
struct json_object *control_handle(struct state *st, struct json_object *req);

#endif /* XLB_CONTROL_SERVER_H */
