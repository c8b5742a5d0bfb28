/*
 * The work queue between the watch and the reconcilers: keys
 * ("namespace/name"), deduplicated, rate-limited, and never handed to two
 * workers at once.
 *
 * A key added while it waits is not added twice.  A key added while a
 * worker holds it is marked dirty and comes back once that worker calls
 * fl_queue_done(), so the latest change is never lost and one experiment
 * is never reconciled by two threads at the same time.  A key that keeps
 * failing comes back later and later (per-key exponential backoff), and
 * the whole queue hands out at most qps keys a second (with a burst), so
 * a storm of changes cannot hammer the API server.
 *
 * Thread-safe: any thread may add; workers block in fl_queue_get().
 */
#ifndef FL_OP_QUEUE_H
#define FL_OP_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#define FL_QUEUE_KEY_MAX 320 /* namespace (63) + '/' + name (253) + NUL */

struct fl_queue_opts {
	int base_delay_ms; /* first retry after a failure; default 100 */
	int max_delay_ms;  /* cap of the per-key backoff; default 300000 */
	double qps;	   /* keys handed out per second; default 50 */
	int burst;	   /* bucket size; default 300 */
};

typedef struct fl_queue fl_queue;

/* A new queue (opts may be NULL for the defaults); NULL only when out of
 * memory.  Free with fl_queue_free() after every worker has returned. */
fl_queue *fl_queue_new(const struct fl_queue_opts *opts);
void fl_queue_free(fl_queue *q);

/* Adds key now.  Keys longer than FL_QUEUE_KEY_MAX - 1 are refused (-1);
 * otherwise returns 0. */
int fl_queue_add(fl_queue *q, const char *key);

/* Adds key after delay_ms; if it is already due sooner, the sooner time
 * stays. */
int fl_queue_add_after(fl_queue *q, const char *key, int64_t delay_ms);

/* Adds key after its own backoff (base * 2^failures, capped) and counts
 * one more failure for it. */
int fl_queue_add_rate_limited(fl_queue *q, const char *key);

/* Forgets key's failures (after a success). */
void fl_queue_forget(fl_queue *q, const char *key);

/*
 * Blocks until a key is due and hands it out (copied into key, n bytes),
 * marking it held.  Returns 0, or -1 once the queue is shut down (then at
 * once, even if keys wait).
 */
int fl_queue_get(fl_queue *q, char *key, size_t n);

/* The worker is done with key; if it was added meanwhile it is queued
 * again. */
void fl_queue_done(fl_queue *q, const char *key);

/* Wakes every blocked fl_queue_get() with -1; later adds are ignored. */
void fl_queue_shutdown(fl_queue *q);

/* Keys waiting (due or delayed), for the metrics. */
size_t fl_queue_len(fl_queue *q);

#endif
