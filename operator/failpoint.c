/*
 * Crash points for the restart tests.  FAULTLINE_FAILPOINTS names the
 * points ("after-inject,after-recovering") at which the process kills
 * itself with SIGKILL, exactly as if its node had died there: nothing is
 * flushed, no handler runs.  Each name may carry a count ("after-inject:2"
 * dies at the second pass).  Unset, every point is a no-op.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "operator.h"

void fl_failpoint(const char *name)
{
	static int passes[64];
	const char *list = getenv("FAULTLINE_FAILPOINTS");
	size_t len = strlen(name);
	int i = 0;

	if (!list || !*list)
		return;
	for (const char *p = list; *p; i++) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int at = 1;

		if (n >= len && !strncmp(p, name, len) &&
		    (n == len || p[len] == ':')) {
			if (p[len] == ':')
				at = (int)strtol(p + len + 1, NULL, 10);
			if (i < 64 &&
			    __atomic_add_fetch(&passes[i], 1,
					       __ATOMIC_SEQ_CST) >= at) {
				fprintf(stderr,
					"failpoint %s: killing myself\n", name);
				kill(getpid(), SIGKILL);
			}
		}
		p += n + (end ? 1 : 0);
	}
}
