/*
 * The work queue.  Every key the queue knows has one entry in a hash set;
 * the entry says where the key is: in the FIFO of due keys, in the min-heap
 * of delayed keys (by due time), held by a worker, or none of these but
 * still remembered for its failure count.  An entry that is in none of
 * these places and has no failures is freed.
 *
 * A key due while a worker holds it is marked queued but stays out of the
 * FIFO; fl_queue_done() puts it there.  That is what keeps one key away
 * from two workers at once without losing the latest add.
 *
 * The FIFO, the heap and the token bucket are only touched under the one
 * mutex.  Getters move due keys from the heap to the FIFO themselves, and
 * sleep on the condition variable until the next due time or the next
 * token, whichever they need, measured on CLOCK_MONOTONIC so that a change
 * of the wall clock cannot stall or hurry them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "queue.h"

#define QUEUE_DEFAULT_BASE_MS 100
#define QUEUE_DEFAULT_MAX_MS 300000
#define QUEUE_DEFAULT_QPS 50.0
#define QUEUE_DEFAULT_BURST 300
#define QUEUE_MIN_BUCKETS 64
#define NS_PER_SEC 1000000000LL
#define NS_PER_MS 1000000LL

struct queue_entry {
	struct queue_entry *hnext; /* next in the same hash bucket */
	struct queue_entry *next;  /* next in the FIFO of due keys */
	uint64_t hash;
	int64_t due_ns; /* when delayed: monotonic time it becomes due */
	long heap_at;	/* index in the heap, or -1 when not delayed */
	int failures;	/* rate-limited adds since the last forget */
	int queued;	/* due: in the FIFO, or waiting for done if held */
	int held;	/* handed out, fl_queue_done() not called yet */
	char key[];	/* NUL-terminated */
};

struct fl_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	struct fl_queue_opts opts;

	struct queue_entry **buckets; /* hash set of every known key */
	size_t nbuckets;	      /* a power of two */
	size_t nentries;

	struct queue_entry *head, *tail; /* FIFO of due, unheld keys */
	size_t nqueued;			 /* entries with queued set */

	struct queue_entry **heap; /* delayed keys, earliest due first */
	size_t nheap, heapcap;

	double tokens;	   /* token bucket: tokens now */
	int64_t refill_ns; /* when tokens was last brought up to date */
	int shut;	   /* fl_queue_shutdown() was called */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* FNV-1a: short keys, no adversary who can choose them freely. */
static uint64_t key_hash(const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct queue_entry **entry_slot(struct fl_queue *q, const char *key,
				       uint64_t h)
{
	struct queue_entry **p = &q->buckets[h & (q->nbuckets - 1)];

	for (; *p; p = &(*p)->hnext)
		if ((*p)->hash == h && !strcmp((*p)->key, key))
			break;
	return p;
}

static void set_grow(struct fl_queue *q)
{
	size_t n = q->nbuckets * 2, i;
	struct queue_entry **b = fl_calloc(n, sizeof(*b));

	for (i = 0; i < q->nbuckets; i++) {
		struct queue_entry *e = q->buckets[i], *next;

		for (; e; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(q->buckets);
	q->buckets = b;
	q->nbuckets = n;
}

/* The entry of key, created (idle) when create is set and it is unknown. */
static struct queue_entry *entry_get(struct fl_queue *q, const char *key,
				     int create)
{
	uint64_t h = key_hash(key);
	struct queue_entry **p = entry_slot(q, key, h), *e;
	size_t len;

	if (*p || !create)
		return *p;
	if (q->nentries + 1 > q->nbuckets - q->nbuckets / 4) {
		set_grow(q);
		p = entry_slot(q, key, h);
	}
	len = strlen(key);
	e = fl_calloc(1, sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->heap_at = -1;
	*p = e;
	q->nentries++;
	return e;
}

/* Frees e when nothing refers to it any more. */
static void entry_release_if_idle(struct fl_queue *q, struct queue_entry *e)
{
	struct queue_entry **p;

	if (e->queued || e->held || e->heap_at >= 0 || e->failures)
		return;
	p = entry_slot(q, e->key, e->hash);
	*p = e->hnext;
	q->nentries--;
	free(e);
}

static void heap_swap(struct fl_queue *q, size_t a, size_t b)
{
	struct queue_entry *t = q->heap[a];

	q->heap[a] = q->heap[b];
	q->heap[b] = t;
	q->heap[a]->heap_at = (long)a;
	q->heap[b]->heap_at = (long)b;
}

static void heap_up(struct fl_queue *q, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (q->heap[parent]->due_ns <= q->heap[i]->due_ns)
			break;
		heap_swap(q, parent, i);
		i = parent;
	}
}

static void heap_down(struct fl_queue *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;

		if (l < q->nheap && q->heap[l]->due_ns < q->heap[min]->due_ns)
			min = l;
		if (r < q->nheap && q->heap[r]->due_ns < q->heap[min]->due_ns)
			min = r;
		if (min == i)
			break;
		heap_swap(q, i, min);
		i = min;
	}
}

static void heap_push(struct fl_queue *q, struct queue_entry *e)
{
	if (q->nheap == q->heapcap) {
		q->heapcap = q->heapcap ? 2 * q->heapcap : 64;
		q->heap = fl_realloc(q->heap, q->heapcap * sizeof(*q->heap));
	}
	q->heap[q->nheap] = e;
	e->heap_at = (long)q->nheap;
	q->nheap++;
	heap_up(q, q->nheap - 1);
}

static void heap_remove(struct fl_queue *q, struct queue_entry *e)
{
	size_t i = (size_t)e->heap_at, last = q->nheap - 1;

	if (i != last)
		heap_swap(q, i, last);
	q->nheap--;
	e->heap_at = -1;
	if (i < q->nheap) {
		heap_up(q, i);
		heap_down(q, i);
	}
}

/*
 * Makes e due now: out of the heap, into the FIFO unless a worker holds
 * it (then fl_queue_done() queues it).
 */
static void entry_make_due(struct fl_queue *q, struct queue_entry *e)
{
	if (e->queued)
		return;
	if (e->heap_at >= 0)
		heap_remove(q, e);
	e->queued = 1;
	q->nqueued++;
	if (e->held)
		return;
	e->next = NULL;
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	pthread_cond_signal(&q->cond);
}

/* Moves every delayed key that is due by now into the FIFO. */
static void heap_release_due(struct fl_queue *q, int64_t now)
{
	while (q->nheap && q->heap[0]->due_ns <= now)
		entry_make_due(q, q->heap[0]);
}

static void bucket_refill(struct fl_queue *q, int64_t now)
{
	double burst = q->opts.burst;

	if (now > q->refill_ns) {
		q->tokens +=
			(double)(now - q->refill_ns) / NS_PER_SEC * q->opts.qps;
		if (q->tokens > burst)
			q->tokens = burst;
	}
	q->refill_ns = now;
}

/* The time at which the bucket will hold one whole token. */
static int64_t bucket_next_ns(const struct fl_queue *q)
{
	double wait = (1.0 - q->tokens) / q->opts.qps * NS_PER_SEC;

	return q->refill_ns + (int64_t)wait + 1;
}

/* Fills opts with the defaults wherever o has a value that is not > 0. */
static void opts_apply(struct fl_queue_opts *opts,
		       const struct fl_queue_opts *o)
{
	opts->base_delay_ms = QUEUE_DEFAULT_BASE_MS;
	opts->max_delay_ms = QUEUE_DEFAULT_MAX_MS;
	opts->qps = QUEUE_DEFAULT_QPS;
	opts->burst = QUEUE_DEFAULT_BURST;
	if (!o)
		return;
	if (o->base_delay_ms > 0)
		opts->base_delay_ms = o->base_delay_ms;
	if (o->max_delay_ms > 0)
		opts->max_delay_ms = o->max_delay_ms;
	if (o->qps > 0)
		opts->qps = o->qps;
	if (o->burst > 0)
		opts->burst = o->burst;
	if (opts->max_delay_ms < opts->base_delay_ms)
		opts->max_delay_ms = opts->base_delay_ms;
}

/*
 * A new queue with opts (NULL, or any field <= 0, for the defaults).  The
 * caller frees it with fl_queue_free().  Returns NULL only if the mutex or
 * condition variable cannot be made.
 */
fl_queue *fl_queue_new(const struct fl_queue_opts *opts)
{
	struct fl_queue *q = fl_calloc(1, sizeof(*q));
	pthread_condattr_t attr;
	int have_attr = 0, have_lock = 0;

	opts_apply(&q->opts, opts);
	q->tokens = q->opts.burst;
	q->refill_ns = now_ns();
	q->nbuckets = QUEUE_MIN_BUCKETS;
	q->buckets = fl_calloc(q->nbuckets, sizeof(*q->buckets));

	if (pthread_mutex_init(&q->lock, NULL))
		goto fail;
	have_lock = 1;
	if (pthread_condattr_init(&attr))
		goto fail;
	have_attr = 1;
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC))
		goto fail;
	if (pthread_cond_init(&q->cond, &attr))
		goto fail;
	pthread_condattr_destroy(&attr);
	return q;

fail:
	if (have_attr)
		pthread_condattr_destroy(&attr);
	if (have_lock)
		pthread_mutex_destroy(&q->lock);
	free(q->buckets);
	free(q);
	return NULL;
}

/* Frees q and every key in it; no thread may use q any more. */
void fl_queue_free(fl_queue *q)
{
	size_t i;

	if (!q)
		return;
	for (i = 0; i < q->nbuckets; i++) {
		struct queue_entry *e = q->buckets[i], *next;

		for (; e; e = next) {
			next = e->hnext;
			free(e);
		}
	}
	free(q->buckets);
	free(q->heap);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static int key_ok(const char *key)
{
	return key && strnlen(key, FL_QUEUE_KEY_MAX) < FL_QUEUE_KEY_MAX;
}

/*
 * Adds key after delay_ms (now if <= 0), keeping an earlier due time if
 * the key already has one.  Call with the lock held.
 */
static void queue_add_locked(struct fl_queue *q, const char *key,
			     int64_t delay_ms)
{
	struct queue_entry *e;
	int64_t due;

	if (q->shut)
		return;
	e = entry_get(q, key, 1);
	if (delay_ms <= 0) {
		entry_make_due(q, e);
		return;
	}
	if (e->queued)
		return;
	if (delay_ms > INT64_MAX / NS_PER_MS / 2)
		delay_ms = INT64_MAX / NS_PER_MS / 2;
	due = now_ns() + delay_ms * NS_PER_MS;
	if (e->heap_at >= 0) {
		if (e->due_ns <= due)
			return;
		e->due_ns = due;
		heap_up(q, (size_t)e->heap_at);
	} else {
		e->due_ns = due;
		heap_push(q, e);
	}
	/* Sleeping getters may need to wake sooner than they planned. */
	if (q->heap[0] == e)
		pthread_cond_broadcast(&q->cond);
}

/* Adds key now (see queue.h); -1 for a missing or too long key. */
int fl_queue_add(fl_queue *q, const char *key)
{
	return fl_queue_add_after(q, key, 0);
}

/* Adds key after delay_ms; -1 for a missing or too long key. */
int fl_queue_add_after(fl_queue *q, const char *key, int64_t delay_ms)
{
	if (!key_ok(key))
		return -1;
	pthread_mutex_lock(&q->lock);
	queue_add_locked(q, key, delay_ms);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* base * 2^failures, capped at max, without overflowing on the way. */
static int64_t backoff_ms(const struct fl_queue_opts *o, int failures)
{
	int64_t d = o->base_delay_ms;
	int i;

	for (i = 0; i < failures && d < o->max_delay_ms; i++)
		d *= 2;
	return d < o->max_delay_ms ? d : o->max_delay_ms;
}

/*
 * Adds key after its backoff and counts a failure for it; -1 for a
 * missing or too long key.  After shutdown nothing is added or counted.
 */
int fl_queue_add_rate_limited(fl_queue *q, const char *key)
{
	struct queue_entry *e;

	if (!key_ok(key))
		return -1;
	pthread_mutex_lock(&q->lock);
	if (!q->shut) {
		e = entry_get(q, key, 1);
		queue_add_locked(q, key, backoff_ms(&q->opts, e->failures));
		if (e->failures < INT32_MAX)
			e->failures++;
	}
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* Resets key's failure count; an unknown key is ignored. */
void fl_queue_forget(fl_queue *q, const char *key)
{
	struct queue_entry *e;

	if (!key_ok(key))
		return;
	pthread_mutex_lock(&q->lock);
	e = entry_get(q, key, 0);
	if (e) {
		e->failures = 0;
		entry_release_if_idle(q, e);
	}
	pthread_mutex_unlock(&q->lock);
}

/* Sleeps on the condition variable until deadline (monotonic ns), or
 * without a deadline when it is 0. */
static void queue_wait(struct fl_queue *q, int64_t deadline)
{
	struct timespec ts;

	if (!deadline) {
		pthread_cond_wait(&q->cond, &q->lock);
		return;
	}
	ts.tv_sec = deadline / NS_PER_SEC;
	ts.tv_nsec = deadline % NS_PER_SEC;
	pthread_cond_timedwait(&q->cond, &q->lock, &ts);
}

/* Takes the first key of the FIFO and marks it held. */
static struct queue_entry *fifo_take(struct fl_queue *q)
{
	struct queue_entry *e = q->head;

	q->head = e->next;
	if (!q->head)
		q->tail = NULL;
	e->next = NULL;
	e->queued = 0;
	e->held = 1;
	q->nqueued--;
	q->tokens -= 1.0;
	return e;
}

/*
 * Waits for a due key and a token, then hands the key out (copied into
 * key; n should be FL_QUEUE_KEY_MAX, a smaller buffer gets the key cut)
 * and marks it held.  Returns 0, or -1 once the queue is shut down.
 */
int fl_queue_get(fl_queue *q, char *key, size_t n)
{
	struct queue_entry *e = NULL;
	int rc = -1;

	pthread_mutex_lock(&q->lock);
	while (!q->shut) {
		int64_t now = now_ns(), deadline = 0;

		heap_release_due(q, now);
		if (q->head) {
			bucket_refill(q, now);
			if (q->tokens >= 1.0) {
				e = fifo_take(q);
				break;
			}
			deadline = bucket_next_ns(q);
		}
		if (q->nheap && (!deadline || q->heap[0]->due_ns < deadline))
			deadline = q->heap[0]->due_ns;
		queue_wait(q, deadline);
	}
	if (e) {
		if (n) {
			size_t len = strnlen(e->key, n - 1);

			memcpy(key, e->key, len);
			key[len] = '\0';
		}
		/* One signal per add may have been spent on this getter:
		 * pass the turn on while keys remain. */
		if (q->head)
			pthread_cond_signal(&q->cond);
		rc = 0;
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

/* Releases key after a worker's turn; re-queues it if it was added
 * meanwhile.  A key that is not held is ignored. */
void fl_queue_done(fl_queue *q, const char *key)
{
	struct queue_entry *e;

	if (!key_ok(key))
		return;
	pthread_mutex_lock(&q->lock);
	e = entry_get(q, key, 0);
	if (e && e->held) {
		e->held = 0;
		if (e->queued && !q->shut) {
			e->queued = 0;
			q->nqueued--;
			entry_make_due(q, e);
		} else if (e->queued) {
			e->queued = 0;
			q->nqueued--;
		}
		entry_release_if_idle(q, e);
	}
	pthread_mutex_unlock(&q->lock);
}

/* Wakes every getter, which then returns -1; later adds are ignored. */
void fl_queue_shutdown(fl_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->shut = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* Keys waiting: due (including those due again once their worker is
 * done) or delayed. */
size_t fl_queue_len(fl_queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->nqueued + q->nheap;
	pthread_mutex_unlock(&q->lock);
	return n;
}
