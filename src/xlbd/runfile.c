// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The private run directory of xlbd and the files in it, opened through a
 * directory fd without following symbolic links: a link planted there can
 * neither redirect a write nor be read as ours. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "runfile.h"

static int run_dir_fd = -1;

int run_dir_ensure(char *err, size_t errlen)
{
	struct stat sb;
	int fd;

	if (run_dir_fd >= 0)
		return 0;
	if (mkdir(XLB_RUN_DIR, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", XLB_RUN_DIR, strerror(errno));
		return -errno;
	}
	fd = open(XLB_RUN_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		int e = errno;

		snprintf(err, errlen, "cannot open %s: %s%s", XLB_RUN_DIR, strerror(e),
			 e == ELOOP || e == ENOTDIR ? " (it must be a directory, "
			 "not a symbolic link)" : "");
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (sb.st_uid != geteuid()) {
		snprintf(err, errlen, "%s belongs to uid %u, not to xlbd (uid %u); "
			 "refusing to keep files there", XLB_RUN_DIR, sb.st_uid, geteuid());
		close(fd);
		return -EPERM;
	}
	if ((sb.st_mode & 077) && fchmod(fd, 0700) != 0) {
		snprintf(err, errlen, "cannot make %s private (0700): %s", XLB_RUN_DIR,
			 strerror(errno));
		close(fd);
		return -EPERM;
	}
	run_dir_fd = fd;
	return 0;
}

int run_open(const char *name, int flags, char *err, size_t errlen)
{
	struct stat sb;
	int fd, ret;

	ret = run_dir_ensure(err, errlen);
	if (ret)
		return ret;
	if (strchr(name, '/')) {
		snprintf(err, errlen, "%s/%s: a name with '/'", XLB_RUN_DIR, name);
		return -EINVAL;
	}
	fd = openat(run_dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s/%s: %s", XLB_RUN_DIR, name,
			 ret == -ELOOP ? "it is a symbolic link; refusing to follow it"
				       : strerror(-ret));
		return ret;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "cannot use %s/%s: not a regular file", XLB_RUN_DIR,
			 name);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int run_write(const char *name, const char *data, size_t len,
	      char *err, size_t errlen)
{
	char tmp[256];
	int fd, ret = 0;

	snprintf(tmp, sizeof(tmp), ".%s.new", name);
	run_unlink(tmp);
	fd = run_open(tmp, O_WRONLY | O_CREAT | O_EXCL, err, errlen);
	if (fd < 0)
		return fd;
	for (size_t off = 0; off < len && !ret;) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno != EINTR)
			ret = -errno;
		else if (w > 0)
			off += (size_t)w;
	}
	if (close(fd) != 0 && !ret)
		ret = -errno;
	if (!ret && renameat(run_dir_fd, tmp, run_dir_fd, name) != 0)
		ret = -errno;
	if (ret) {
		snprintf(err, errlen, "cannot write %s/%s: %s", XLB_RUN_DIR, name,
			 strerror(-ret));
		run_unlink(tmp);
	}
	return ret;
}

void run_unlink(const char *name)
{
	char err[256];

	if (run_dir_ensure(err, sizeof(err)) == 0 && !strchr(name, '/'))
		unlinkat(run_dir_fd, name, 0);
}
