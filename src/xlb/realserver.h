/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `xlb realserver`: prepares a host to be a dr or tun real server (VIP on lo,
 * ARP and rp_filter sysctls, decapsulation XDP) and undoes exactly that. */
#ifndef XLB_REALSERVER_H
#define XLB_REALSERVER_H

/* Directory of the state files that let teardown undo what setup did. */
#define REALSERVER_STATE_DIR "/run/xlb/realserver"

/* argv holds the words after `realserver`: argv[0] is "setup", "teardown"
 * or "--help". Prints errors itself; returns 0 on success, 2 on bad usage,
 * 1 when the system could not be changed (the process exit code). */
int realserver_main(int argc, char **argv);

/* Usage text of `xlb realserver` (also printed by `xlb realserver --help`). */
extern const char realserver_usage[];

#endif /* XLB_REALSERVER_H */
