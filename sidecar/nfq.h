/*
 * The userspace queue engine: where the kernel has no netem, packets
 * reach us through an NFQUEUE rule and we play netem's part.  One engine
 * per fault, one thread per engine, one queue number per engine.
 *
 * Each packet is, in this order: dropped (loss), copied and sent again
 * through a raw socket carrying FL_NET_SELF_MARK, which our rules let
 * pass (duplication), changed in one byte of its transport part with no
 * checksum fixed, so that the receiver's stack sees a corrupt packet
 * (corruption), then held for delay ± jitter in a min-heap and accepted
 * when due (latency).  Random draws are correlated like netem's: each
 * draw is a weighted mean of a fresh uniform number and the last draw.
 *
 * Bounds: at most FL_NFQ_HELD packets are held, and their changed copies
 * take at most FL_NFQ_HELD_BYTES; beyond either, and when the kernel's
 * queue is full (fail-open), packets pass unharmed.  If the
 * process dies, the rule's bypass flag makes the kernel accept packets
 * while nobody listens.
 */
#ifndef FL_SIDECAR_NFQ_H
#define FL_SIDECAR_NFQ_H

#include <stddef.h>
#include <stdint.h>

#define FL_NFQ_HELD 8192
/* Corruption with delay keeps a copy of each held packet, up to 64 KiB:
 * FL_NFQ_HELD of them could reach 512 MiB and invite the OOM killer to
 * end the injector in the middle of a fault.  32 MiB still holds 8192
 * packets of a typical 1500-byte MTU. */
#define FL_NFQ_HELD_BYTES (32u << 20)
/* Queue numbers we try, from the first, until one is free. */
#define FL_NFQ_FIRST 0xfa17u
#define FL_NFQ_COUNT 64u

struct fl_nfq_params {
	int64_t delay_us, jitter_us;
	double delay_corr; /* 0..1, as are the shares below */
	double loss, loss_corr;
	double corrupt, corrupt_corr;
	double dup, dup_corr;
};

struct fl_nfq_stats {
	uint64_t seen, dropped, duplicated, corrupted, delayed, passed_full;
};

struct fl_nfq;

/* Whether one more packet may be held, given nheld packets already held
 * whose copies take held_bytes, and copy_len bytes (0 for none) that
 * this one would keep.  Returns 1 if so, 0 if it must pass unchanged. */
int fl_nfq_may_hold(size_t nheld, size_t held_bytes, uint32_t copy_len);

/* Binds a free queue number and starts the engine's thread.  Returns the
 * engine (free it with fl_nfq_stop()), or NULL with err filled. */
struct fl_nfq *fl_nfq_start(const struct fl_nfq_params *p, char *err, size_t n);

/* The queue number the engine listens on. */
uint16_t fl_nfq_queue(const struct fl_nfq *q);

/* A snapshot of the engine's counters. */
void fl_nfq_stats(struct fl_nfq *q, struct fl_nfq_stats *out);

/* Accepts every held packet, stops the thread, unbinds the queue and
 * frees q.  NULL is allowed. */
void fl_nfq_stop(struct fl_nfq *q);

#endif
