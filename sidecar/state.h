/*
 * The state directory: what a running instance has installed that could
 * outlive it (a fill file, stopped processes), written before it is
 * installed, so that sweep() can take it back after a SIGKILL.
 *
 * One JSON file per fault and run, DIR/<tag>.<kind>.json, where DIR is
 * $FAULTLINE_STATE_DIR or /run/faultline (a tmpfs: state does not survive
 * a reboot, and neither does what it describes).  Each record names its
 * owner (pid and start time), so that a sweep leaves the records of a
 * live instance alone.
 */
#ifndef FL_SIDECAR_STATE_H
#define FL_SIDECAR_STATE_H

#include <stddef.h>

#include <json-c/json.h>

/* The directory in use; a static string. */
const char *fl_state_dir(void);

/* Writes rec (adding "owner" fields) as the record of (tag, kind),
 * atomically.  Does not take rec's reference.  Returns 0, or -1 with err. */
int fl_state_save(const char *tag, const char *kind, struct json_object *rec,
		  char *err, size_t errn);

/* A record name for one fault of kind in this run: the tag for the
 * first, "<tag>-<n>" for the n+1st, so that two faults of one kind in a
 * spec never share (and overwrite) a record.  uses counts the kind's
 * faults in this process; out holds at least 48 bytes. */
void fl_state_key(const char *tag, unsigned *uses, char *out, size_t n);

/* Removes the record of (tag, kind); no error when there is none. */
void fl_state_drop(const char *tag, const char *kind);

/*
 * Calls fn for every record of kind whose owner is gone, and removes the
 * record when fn returns >= 0.  Returns the sum of what fn returned, or -1
 * when any fn failed (its message in err).  A record that cannot be read
 * is removed: nobody could act on it.
 */
int fl_state_sweep(const char *kind,
		   int (*fn)(struct json_object *rec, char *err, size_t errn),
		   char *err, size_t errn);

/* The number of records on disk, of any owner; for tests and sweep
 * reports. */
size_t fl_state_count(void);

#endif
