/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The control API between xlb and xlbd: one JSON request per connection on a
 * unix stream socket, one JSON reply, then the daemon closes.
 *   request: {"cmd": "service_add", "service": "tcp/198.18.0.100:80", ...}
 *   reply:   {"ok": true, "result": ...} or {"ok": false, "error": "..."} */
#ifndef XLB_CONTROL_H
#define XLB_CONTROL_H

#include <stddef.h>
#include <json-c/json.h>

#define XLB_RUN_DIR     "/run/xlb"
#define XLB_CONTROL_MAX (16u << 20)     /* largest request (apply of a big config) */

/* The inode of this process's network namespace: what names an instance
 * (its socket, the realserver state) by default. 0 or -errno. */
int netns_inode(unsigned long *ino);

/* The default socket of the current network namespace:
 * /run/xlb/xlbd-ns<inode of /proc/self/ns/net>.sock. /run is shared by all
 * namespaces; the inode keeps one daemon per namespace apart. */
int control_default_socket(char *buf, size_t len);
/* "ns<inode>", the default instance name. */
int control_default_instance(char *buf, size_t len);

/* Client: send req (consumed) and return the reply object, or NULL with err. */
struct json_object *control_call(const char *path, struct json_object *req,
				 char *err, size_t errlen);

#endif /* XLB_CONTROL_H */
