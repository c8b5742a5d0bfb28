/*
 * nftables tables through libnftnl, sent as one batch with libmnl.
 *
 * The userspace queue is reached through the xtables NFQUEUE target run
 * by nft_compat, exactly what iptables-nft installs for "-j NFQUEUE":
 * an expression "target" named NFQUEUE, revision 3, whose info is a
 * struct xt_NFQ_info_v3 padded to XT_ALIGN.  We use it because kernels
 * built without the nftables queue expression still carry it.
 */
#include "nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <netinet/in.h>

#include "alloc.h"

/* A batch holds at most this much; a spec is bounded (16 destinations of
 * 16 ports each), and this is several times what the largest needs. */
#define BATCH_LIMIT (2u << 20)
#define BATCH_SLACK (64u << 10)

static const struct {
	int nfproto;
	int af;
	unsigned bit;
} families[] = {
	{NFPROTO_IPV4, AF_INET, 1},
	{NFPROTO_IPV6, AF_INET6, 2},
	{NFPROTO_NETDEV, 0, 4},
};

static void oom(void)
{
	fprintf(stderr, "faultline-sidecar: out of memory in libnftnl\n");
	abort();
}

static struct nftnl_expr *expr_new(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		oom();
	nftnl_rule_add_expr(r, e);
	return e;
}

static void add_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = expr_new(r, "meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

static void add_cmp(struct nftnl_rule *r, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr_new(r, "cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void add_payload(struct nftnl_rule *r, uint32_t base, uint32_t off,
			uint32_t len)
{
	struct nftnl_expr *e = expr_new(r, "payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
}

static void add_mask(struct nftnl_rule *r, const uint8_t *mask, uint32_t len)
{
	struct nftnl_expr *e = expr_new(r, "bitwise");
	static const uint8_t zero[16];

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
}

static void add_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = expr_new(r, "immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
}

static void add_l4proto(struct nftnl_rule *r, int proto)
{
	uint8_t p = (uint8_t)proto;

	add_meta(r, NFT_META_L4PROTO);
	add_cmp(r, &p, sizeof(p));
}

/* Matches the source (src) or destination address against d's prefix:
 * a load of the whole bytes the prefix covers, a mask for its last
 * partial byte. */
static void add_addr(struct nftnl_rule *r, int af, const struct fl_net_dest *d,
		     int src)
{
	uint32_t off, len = (uint32_t)(d->prefix + 7) / 8;
	uint8_t mask[16] = {0};
	uint32_t i;

	if (d->family == 0 || d->prefix == 0)
		return;
	if (af == AF_INET)
		off = src ? 12 : 16;
	else
		off = src ? 8 : 24;
	add_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, len);
	if (d->prefix % 8) {
		for (i = 0; i < len; i++)
			mask[i] = 0xff;
		mask[len - 1] = (uint8_t)(0xff << (8 - d->prefix % 8));
		add_mask(r, mask, len);
	}
	add_cmp(r, d->addr, len);
}

static void add_port(struct nftnl_rule *r, uint16_t port, int src)
{
	uint16_t be = htons(port);

	add_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, src ? 0 : 2, sizeof(be));
	add_cmp(r, &be, sizeof(be));
}

static void add_ifname(struct nftnl_rule *r, const char *ifname, int in)
{
	char name[IFNAMSIZ] = {0};

	snprintf(name, sizeof(name), "%s", ifname);
	add_meta(r, in ? NFT_META_IIFNAME : NFT_META_OIFNAME);
	add_cmp(r, name, sizeof(name));
}

static void add_queue(struct nftnl_rule *r, uint16_t num)
{
	struct nftnl_expr *e = expr_new(r, "target");
	/* The kernel wants the info padded to XT_ALIGN(targetsize), and
	 * libnftnl takes the buffer over: it frees it with the rule. */
	size_t len = XT_ALIGN(sizeof(struct xt_NFQ_info_v3));
	struct xt_NFQ_info_v3 *info = fl_calloc(1, len);

	info->queuenum = num;
	info->queues_total = 1;
	/* Bypass: while no process listens on the queue (we died), the
	 * kernel accepts the packets instead of dropping them. */
	info->flags = NFQ_FLAG_BYPASS;
	nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
	nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
	nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, (uint32_t)len);
}

static void add_reject(struct nftnl_rule *r, int af, int proto)
{
	struct nftnl_expr *e = expr_new(r, "reject");

	if (proto == IPPROTO_TCP) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE,
				   NFT_REJECT_TCP_RST);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, 0);
		return;
	}
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMP_UNREACH);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE,
			  af == AF_INET ? ICMP_PORT_UNREACH
					: ICMPV6_PORT_UNREACH);
}

struct batch {
	struct mnl_nlmsg_batch *b;
	char *buf;
	uint32_t seq, first;
	int full;
};

static struct nlmsghdr *batch_msg(struct batch *bt, uint16_t type, int fam,
				  uint16_t flags)
{
	if (bt->full)
		return NULL;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type,
				     (uint16_t)fam, flags | NLM_F_ACK,
				     bt->seq++);
}

static void batch_next(struct batch *bt)
{
	if (!bt->full && !mnl_nlmsg_batch_next(bt->b))
		bt->full = 1;
}

static void batch_init(struct batch *bt)
{
	bt->buf = fl_malloc(BATCH_LIMIT + BATCH_SLACK);
	bt->b = mnl_nlmsg_batch_start(bt->buf, BATCH_LIMIT);
	bt->seq = (uint32_t)time(NULL) << 8;
	bt->full = 0;
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
	bt->first = bt->seq;
}

static int batch_send(struct batch *bt, struct fl_nl *nl, const char *what,
		      char *err, size_t n)
{
	uint32_t last = bt->seq - 1;
	int rc;

	if (bt->full) {
		snprintf(err, n, "%s: more rules than one batch holds", what);
		return -1;
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
	rc = fl_nl_talk_batch(nl, mnl_nlmsg_batch_head(bt->b),
			      mnl_nlmsg_batch_size(bt->b), bt->first, last,
			      what, err, n);
	return rc;
}

static void batch_release(struct batch *bt)
{
	if (bt->b)
		mnl_nlmsg_batch_stop(bt->b);
	free(bt->buf);
	bt->b = NULL;
	bt->buf = NULL;
}

static void put_rule(struct batch *bt, struct nftnl_rule *r)
{
	struct nlmsghdr *nlh;

	nlh = batch_msg(bt, NFT_MSG_NEWRULE,
			(int)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
			NLM_F_CREATE | NLM_F_APPEND);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		batch_next(bt);
	}
	nftnl_rule_free(r);
}

static struct nftnl_rule *rule_new(int fam, const char *table,
				   const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		oom();
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)fam);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

static void put_table(struct batch *bt, int fam, const char *name)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		oom();
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, (uint32_t)fam);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
	nlh = batch_msg(bt, NFT_MSG_NEWTABLE, fam, NLM_F_CREATE | NLM_F_EXCL);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		batch_next(bt);
	}
	nftnl_table_free(t);
}

/* A base chain on hook; dev names the device of a netdev hook, or is
 * NULL. */
static void put_chain(struct batch *bt, int fam, const char *table,
		      const char *name, uint32_t hook, const char *dev)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		oom();
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, (uint32_t)fam);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	if (dev)
		nftnl_chain_set_str(c, NFTNL_CHAIN_DEV, dev);
	nlh = batch_msg(bt, NFT_MSG_NEWCHAIN, fam, NLM_F_CREATE);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		batch_next(bt);
	}
	nftnl_chain_free(c);
}

struct chain_ctx {
	struct batch *bt;
	const struct fl_nft_spec *spec;
	int fam, af;
	const char *chain;
	int in;	    /* the input chain: the peer is the source */
	int netdev; /* a netdev chain: rules check the ethertype first */
};

/* A new rule of the chain; in a netdev chain, it first checks that the
 * packet is of the address family its matches are written for. */
static struct nftnl_rule *chain_rule(struct chain_ctx *cc)
{
	struct nftnl_rule *r = rule_new(cc->fam, cc->spec->table, cc->chain);
	uint16_t proto = htons(cc->af == AF_INET ? ETH_P_IP : ETH_P_IPV6);

	if (cc->netdev) {
		add_meta(r, NFT_META_PROTOCOL);
		add_cmp(r, &proto, sizeof(proto));
	}
	return r;
}

static void put_action(struct chain_ctx *cc, struct nftnl_rule *r, int proto)
{
	switch (cc->spec->action) {
	case FL_NFT_DROP:
		add_verdict(r, NF_DROP);
		break;
	case FL_NFT_REJECT:
		add_reject(r, cc->af, proto);
		break;
	case FL_NFT_QUEUE:
		add_queue(r, cc->spec->queue_num);
		break;
	}
	put_rule(cc->bt, r);
}

/* One rule: interface, protocol, peer address, port, then the action.
 * port is 0 when the rule does not look at ports. */
static void put_match(struct chain_ctx *cc, const struct fl_net_dest *d,
		      int proto, uint16_t port)
{
	const struct fl_net_scope *s = cc->spec->scope;
	struct nftnl_rule *r = chain_rule(cc);

	if (s->ifname[0] && !cc->netdev)
		add_ifname(r, s->ifname, cc->in);
	if (proto)
		add_l4proto(r, proto);
	if (d)
		add_addr(r, cc->af, d, cc->in);
	if (port)
		add_port(r, port, s->local_ports ? !cc->in : cc->in);
	put_action(cc, r, proto);
}

static void put_dest(struct chain_ctx *cc, const struct fl_net_dest *d)
{
	static const int both[] = {IPPROTO_TCP, IPPROTO_UDP};
	int one[1] = {d->proto};
	const int *protos = d->proto ? one : both;
	size_t nprotos = d->proto ? 1 : 2, i, k;

	if (d->family && d->family != cc->af)
		return;
	if (d->nports == 0) {
		put_match(cc, d, d->proto, 0);
		return;
	}
	for (i = 0; i < nprotos; i++)
		for (k = 0; k < d->nports; k++)
			put_match(cc, d, protos[i], d->ports[k]);
}

/* Rules that come before the fault's own: our own copies of packets, and
 * the operator's channel unless the spec allows cutting it. */
static void put_spares(struct chain_ctx *cc)
{
	const struct fl_nft_spec *spec = cc->spec;
	struct fl_net_dest ctl = {0};
	struct nftnl_rule *r;
	uint32_t mark = FL_NET_SELF_MARK;

	if (spec->action == FL_NFT_QUEUE) {
		r = chain_rule(cc);
		add_meta(r, NFT_META_MARK);
		add_cmp(r, &mark, sizeof(mark));
		add_verdict(r, NF_ACCEPT);
		put_rule(cc->bt, r);
	}
	if (!spec->control_cidr ||
	    fl_net_cidr_parse(spec->control_cidr, &ctl) < 0 ||
	    ctl.family != cc->af)
		return;
	r = chain_rule(cc);
	add_l4proto(r, IPPROTO_TCP);
	add_addr(r, cc->af, &ctl, cc->in);
	if (spec->control_port)
		add_port(r, (uint16_t)spec->control_port, cc->in);
	add_verdict(r, NF_ACCEPT);
	put_rule(cc->bt, r);
}

static void put_rules(struct chain_ctx *cc)
{
	const struct fl_net_scope *s = cc->spec->scope;
	struct fl_net_dest any = {0};
	size_t i;

	put_spares(cc);
	if (s->nto == 0) {
		put_dest(cc, &any);
		return;
	}
	for (i = 0; i < s->nto; i++)
		put_dest(cc, &s->to[i]);
}

static unsigned needed_families(const struct fl_net_scope *s)
{
	unsigned bits = 0;
	size_t i;

	if (s->nto == 0)
		return 3;
	for (i = 0; i < s->nto; i++) {
		if (s->to[i].family == AF_INET)
			bits |= 1;
		else if (s->to[i].family == AF_INET6)
			bits |= 2;
		else
			bits |= 3;
	}
	return bits;
}

static void put_family(struct batch *bt, const struct fl_nft_spec *spec,
		       int fam, int af)
{
	struct chain_ctx cc = {.bt = bt, .spec = spec, .fam = fam, .af = af};

	put_table(bt, fam, spec->table);
	if ((spec->scope->dir & FL_NET_EGRESS) && !spec->ndevs) {
		cc.chain = "out";
		put_chain(bt, fam, spec->table, cc.chain, NF_INET_LOCAL_OUT,
			  NULL);
		put_rules(&cc);
	}
	if (spec->scope->dir & FL_NET_INGRESS) {
		cc.chain = "in";
		cc.in = 1;
		put_chain(bt, fam, spec->table, cc.chain, NF_INET_LOCAL_IN,
			  NULL);
		put_rules(&cc);
	}
}

/* Egress through the netdev family: one chain per device, the rules of
 * each address family in want behind an ethertype check. */
static void put_netdev(struct batch *bt, const struct fl_nft_spec *spec,
		       unsigned want)
{
	struct chain_ctx cc = {
		.bt = bt, .spec = spec, .fam = NFPROTO_NETDEV, .netdev = 1};
	char chain[32];
	size_t i;

	put_table(bt, NFPROTO_NETDEV, spec->table);
	for (i = 0; i < spec->ndevs; i++) {
		snprintf(chain, sizeof(chain), "out-%zu", i);
		cc.chain = chain;
		put_chain(bt, NFPROTO_NETDEV, spec->table, chain,
			  NF_NETDEV_EGRESS, spec->egress_devs[i]);
		if (want & 1) {
			cc.af = AF_INET;
			put_rules(&cc);
		}
		if (want & 2) {
			cc.af = AF_INET6;
			put_rules(&cc);
		}
	}
}

int fl_nft_install(struct fl_nft *t, const struct fl_nft_spec *spec, char *err,
		   size_t n)
{
	unsigned want = needed_families(spec->scope), installed = 0;
	int netdev = spec->ndevs && (spec->scope->dir & FL_NET_EGRESS);
	int inet = !netdev || (spec->scope->dir & FL_NET_INGRESS);
	struct batch bt = {0};
	char what[128];
	size_t i;
	int rc = -1;

	snprintf(t->table, sizeof(t->table), "%s", spec->table);
	if (fl_nl_open(&t->nl, NETLINK_NETFILTER, err, n) < 0)
		return -1;
	batch_init(&bt);
	for (i = 0; inet && i < sizeof(families) / sizeof(families[0]); i++) {
		if (!(want & families[i].bit) || !families[i].af)
			continue;
		put_family(&bt, spec, families[i].nfproto, families[i].af);
		installed |= families[i].bit;
	}
	if (netdev) {
		put_netdev(&bt, spec, want);
		installed |= 4;
	}
	snprintf(what, sizeof(what), "cannot install nftables table '%s'",
		 spec->table);
	if (batch_send(&bt, &t->nl, what, err, n) < 0) {
		fl_nl_close(&t->nl);
		goto out;
	}
	t->families = (int)installed;
	rc = 0;
out:
	batch_release(&bt);
	return rc;
}

static int delete_table(struct fl_nl *nl, int fam, const char *name, char *err,
			size_t n)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct batch bt = {0};
	struct nlmsghdr *nlh;
	char what[128];
	int rc;

	if (!t)
		oom();
	batch_init(&bt);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, (uint32_t)fam);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nlh = batch_msg(&bt, NFT_MSG_DELTABLE, fam, 0);
	nftnl_table_nlmsg_build_payload(nlh, t);
	batch_next(&bt);
	nftnl_table_free(t);
	snprintf(what, sizeof(what), "cannot delete nftables table '%s'", name);
	rc = batch_send(&bt, nl, what, err, n);
	batch_release(&bt);
	return rc;
}

int fl_nft_remove(struct fl_nft *t, char *err, size_t n)
{
	size_t i;
	int rc = 0;

	if (!t->nl.sock)
		return 0;
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		if (!(t->families & (int)families[i].bit))
			continue;
		if (delete_table(&t->nl, families[i].nfproto, t->table, err,
				 n) < 0 &&
		    errno != ENOENT)
			rc = -1;
	}

	/* Closing the owning socket removes the tables anyway; the
	 * explicit delete above only makes the removal visible at once. */
	fl_nl_close(&t->nl);
	t->families = 0;
	return rc;
}

#define SWEEP_MAX 256

struct table_list {
	struct {
		int fam;
		char name[256];
	} t[SWEEP_MAX];
	size_t n;
	struct fl_nft_live *live; /* owned tables go here, when not NULL */
};

/* Sorts our tables: those with an owner have a living owner (the kernel
 * removes them when its socket closes); the others are leftovers. */
static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_list *l = data;
	struct nftnl_table *t = nftnl_table_alloc();
	const char *name;

	if (!t)
		oom();
	if (nftnl_table_nlmsg_parse(nlh, t) < 0)
		goto out;
	name = nftnl_table_get_str(t, NFTNL_TABLE_NAME);
	if (!name || strncmp(name, FL_NET_PREFIX, strlen(FL_NET_PREFIX)))
		goto out;
	if (nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) & NFT_TABLE_F_OWNER) {
		if (l->live && l->live->n < FL_NFT_LIVE_MAX)
			snprintf(l->live->name[l->live->n++],
				 sizeof(l->live->name[0]), "%s", name);
		else if (l->live)
			l->live->overflow = 1;
	} else if (l->n < SWEEP_MAX) {
		l->t[l->n].fam =
			(int)nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY);
		snprintf(l->t[l->n].name, sizeof(l->t[l->n].name), "%s", name);
		l->n++;
	}
out:
	nftnl_table_free(t);
	return MNL_CB_OK;
}

static int list_tables(struct fl_nl *nl, struct table_list *l, char *err,
		       size_t n)
{
	struct fl_nlmsg *m = fl_malloc(sizeof(*m));
	struct nfgenmsg *g;
	int rc;

	g = fl_nlmsg_start(m, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE,
			   NLM_F_DUMP, sizeof(*g));
	g->nfgen_family = NFPROTO_UNSPEC;
	g->version = NFNETLINK_V0;
	rc = fl_nl_talk(nl, m, list_cb, l, "cannot list nftables tables", err,
			n);
	free(m);
	return rc;
}

int fl_nft_sweep(char *err, size_t n)
{
	struct table_list *l = fl_calloc(1, sizeof(*l));
	struct fl_nl nl;
	size_t i;
	int rc = -1, removed = 0;

	if (fl_nl_open(&nl, NETLINK_NETFILTER, err, n) < 0)
		goto out_free;
	if (list_tables(&nl, l, err, n) < 0)
		goto out;
	for (i = 0; i < l->n; i++) {
		if (delete_table(&nl, l->t[i].fam, l->t[i].name, err, n) < 0)
			goto out;
		removed++;
	}
	rc = removed;
out:
	fl_nl_close(&nl);
out_free:
	free(l);
	return rc;
}

int fl_nft_beacon(struct fl_nl *owner, const char *name, char *err, size_t n)
{
	struct batch bt = {0};
	char what[128];
	int rc;

	batch_init(&bt);
	put_table(&bt, NFPROTO_IPV4, name);
	snprintf(what, sizeof(what), "cannot create beacon table '%s'", name);
	rc = batch_send(&bt, owner, what, err, n);
	batch_release(&bt);
	return rc;
}

int fl_nft_beacon_drop(struct fl_nl *owner, const char *name, char *err,
		       size_t n)
{
	return delete_table(owner, NFPROTO_IPV4, name, err, n);
}

int fl_nft_live(struct fl_nft_live *out, char *err, size_t n)
{
	struct table_list *l = fl_calloc(1, sizeof(*l));
	struct fl_nl nl;
	int rc = -1;

	out->n = 0;
	out->overflow = 0;
	l->live = out;
	if (fl_nl_open(&nl, NETLINK_NETFILTER, err, n) == 0) {
		rc = list_tables(&nl, l, err, n);
		fl_nl_close(&nl);
	}
	free(l);
	return rc;
}

int fl_nft_is_live(const struct fl_nft_live *l, const char *prefix)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strncmp(l->name[i], prefix, strlen(prefix)) == 0)
			return 1;
	return 0;
}
