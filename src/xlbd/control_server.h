/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The daemon's side of the control API (src/lib/control.h): listens on the
 * unix socket and applies each request to the state. */
#ifndef XLB_CONTROL_SERVER_H
#define XLB_CONTROL_SERVER_H

#include "control.h"
#include "state.h"

#define CONTROL_ERRLEN 1024

struct control_server;
int control_listen(struct control_server **srvp, const char *path, struct state *st,
		   char *err, size_t errlen);
int control_fd(const struct control_server *srv);
/* Accept and serve one pending connection. */
void control_serve_one(struct control_server *srv);
void control_close(struct control_server *srv);

/* {"ok": false, "error": msg}. */
struct json_object *control_reply_error(const char *msg);

/* Handle one decoded request against the state (exposed for tests). */
struct json_object *control_handle(struct state *st, struct json_object *req);

#endif /* XLB_CONTROL_SERVER_H */
