/*
 * Traffic control over rtnetlink.
 */
#include "tc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <netinet/in.h>

#define OUR_ROOT (FL_NET_QDISC_MAJOR << 16)
/* Under our netem (netem's one class is :1), a shaper takes this. */
#define OUR_NESTED ((FL_NET_QDISC_MAJOR + 1) << 16)
#define INGRESS_HANDLE 0xffff0000u
/* The kernel counts time for rate limits in ticks of 64 ns. */
#define PSCHED_TICK_NS 64

static struct tcmsg *tc_start(struct fl_nlmsg *m, uint16_t type, uint16_t flags,
			      int ifindex)
{
	struct tcmsg *t = fl_nlmsg_start(m, type, flags, sizeof(*t));

	t->tcm_family = AF_UNSPEC;
	t->tcm_ifindex = ifindex;
	return t;
}

struct links_ctx {
	struct fl_tc_link *out;
	size_t max, n;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct links_ctx *lc = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK || lc->n >= lc->max)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifi))
	{
		if (mnl_attr_get_type(a) != IFLA_IFNAME ||
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			continue;
		snprintf(lc->out[lc->n].name, sizeof(lc->out[lc->n].name), "%s",
			 mnl_attr_get_str(a));
		lc->out[lc->n].ifindex = ifi->ifi_index;
		lc->out[lc->n].flags = ifi->ifi_flags;
		lc->n++;
		break;
	}
	return MNL_CB_OK;
}

int fl_tc_links(struct fl_nl *nl, struct fl_tc_link *out, size_t max, char *err,
		size_t n)
{
	struct links_ctx lc = {.out = out, .max = max};
	struct fl_nlmsg m;
	struct ifinfomsg *ifi;

	ifi = fl_nlmsg_start(&m, RTM_GETLINK, NLM_F_DUMP, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	if (fl_nl_talk(nl, &m, link_cb, &lc, "cannot list links", err, n) < 0)
		return -1;
	return (int)lc.n;
}

static int is_ours(const char *name)
{
	return strncmp(name, FL_NET_IFB_PREFIX, strlen(FL_NET_IFB_PREFIX)) == 0;
}

int fl_tc_targets(struct fl_nl *nl, const char *ifname, struct fl_tc_link *out,
		  size_t max, char *err, size_t n)
{
	struct fl_tc_link all[FL_TC_LINKS_MAX];
	int k = fl_tc_links(nl, all, FL_TC_LINKS_MAX, err, n);
	size_t got = 0;
	int i;

	for (i = 0; i < k && got < max; i++) {
		if (ifname && *ifname) {
			if (strcmp(all[i].name, ifname) == 0)
				out[got++] = all[i];
		} else if ((all[i].flags & IFF_UP) &&
			   !(all[i].flags & IFF_LOOPBACK) &&
			   !is_ours(all[i].name)) {
			out[got++] = all[i];
		}
	}
	if (k >= 0 && got == 0) {
		if (ifname && *ifname)
			snprintf(err, n, "cannot find interface '%s'", ifname);
		else
			snprintf(err, n, "cannot find an interface that is up");
		return -1;
	}
	return k < 0 ? -1 : (int)got;
}

static void ratespec(struct tc_ratespec *rs, uint64_t bps)
{
	memset(rs, 0, sizeof(*rs));
	rs->rate = bps >= UINT32_MAX ? UINT32_MAX : (uint32_t)bps;
	/* The kernel computes the time of each packet itself and needs no
	 * rate table once it knows the link layer. */
	rs->linklayer = TC_LINKLAYER_ETHERNET;
}

static uint32_t ticks(uint64_t bytes, uint64_t bps)
{
	uint64_t ns = bytes * 1000000000ull / (bps ? bps : 1);
	uint64_t t = ns / PSCHED_TICK_NS;

	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

static int add_tbf(struct fl_nl *nl, int ifindex, const struct fl_tc_place *at,
		   const struct fl_tc_rate *r, char *err, size_t n)
{
	struct tc_tbf_qopt q = {0};
	struct fl_nlmsg m;
	struct tcmsg *t;
	struct nlattr *o;

	t = tc_start(&m, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex);
	t->tcm_parent = at->parent;
	t->tcm_handle = at->handle;
	fl_nlmsg_put_str(&m, TCA_KIND, "tbf");
	ratespec(&q.rate, r->bytes_per_sec);
	q.limit = r->limit;
	q.buffer = ticks(r->burst, r->bytes_per_sec);
	o = fl_nlmsg_nest_start(&m, TCA_OPTIONS);
	fl_nlmsg_put(&m, TCA_TBF_PARMS, sizeof(q), &q);
	fl_nlmsg_put_u32(&m, TCA_TBF_BURST, r->burst);
	if (r->bytes_per_sec >= UINT32_MAX)
		fl_nlmsg_put_u64(&m, TCA_TBF_RATE64, r->bytes_per_sec);
	fl_nlmsg_nest_end(&m, o);
	return fl_nl_talk(nl, &m, NULL, NULL, "cannot add tbf qdisc", err, n);
}

static int add_htb(struct fl_nl *nl, int ifindex, const struct fl_tc_place *at,
		   const struct fl_tc_rate *r, char *err, size_t n)
{
	struct tc_htb_glob g = {.version = 3, .rate2quantum = 10};
	struct tc_htb_opt c = {0};
	struct fl_nlmsg m;
	struct tcmsg *t;
	struct nlattr *o;

	/* Unclassified traffic (defcls 0) goes straight out, unshaped. */
	t = tc_start(&m, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex);
	t->tcm_parent = at->parent;
	t->tcm_handle = at->handle;
	fl_nlmsg_put_str(&m, TCA_KIND, "htb");
	o = fl_nlmsg_nest_start(&m, TCA_OPTIONS);
	fl_nlmsg_put(&m, TCA_HTB_INIT, sizeof(g), &g);
	fl_nlmsg_nest_end(&m, o);
	if (fl_nl_talk(nl, &m, NULL, NULL, "cannot add htb qdisc", err, n) < 0)
		return -1;

	t = tc_start(&m, RTM_NEWTCLASS, NLM_F_CREATE | NLM_F_EXCL, ifindex);
	t->tcm_parent = at->handle;
	t->tcm_handle = at->handle | 1u;
	fl_nlmsg_put_str(&m, TCA_KIND, "htb");
	ratespec(&c.rate, r->bytes_per_sec);
	ratespec(&c.ceil, r->bytes_per_sec);
	c.buffer = ticks(r->burst, r->bytes_per_sec);
	c.cbuffer = c.buffer;
	o = fl_nlmsg_nest_start(&m, TCA_OPTIONS);
	fl_nlmsg_put(&m, TCA_HTB_PARMS, sizeof(c), &c);
	if (r->bytes_per_sec >= UINT32_MAX) {
		fl_nlmsg_put_u64(&m, TCA_HTB_RATE64, r->bytes_per_sec);
		fl_nlmsg_put_u64(&m, TCA_HTB_CEIL64, r->bytes_per_sec);
	}
	fl_nlmsg_nest_end(&m, o);
	return fl_nl_talk(nl, &m, NULL, NULL, "cannot add htb class", err, n);
}

struct u32_sel {
	struct tc_u32_sel sel;
	struct tc_u32_key keys[8];
};

static void u32_key(struct u32_sel *s, int off, uint32_t mask, uint32_t val)
{
	struct tc_u32_key *k = &s->keys[s->sel.nkeys++];

	k->off = off;
	k->mask = htonl(mask);
	k->val = htonl(val) & k->mask;
}

/* Keys that match an address prefix at off, 32 bits a key. */
static void u32_addr(struct u32_sel *s, int off, const struct fl_net_dest *d)
{
	int words = d->family == AF_INET ? 1 : 4, i;

	for (i = 0; i < words; i++) {
		int bits = d->prefix - i * 32;
		uint32_t mask, val;

		if (bits <= 0)
			break;
		mask = bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
		memcpy(&val, d->addr + i * 4, 4);
		u32_key(s, off + i * 4, mask, ntohl(val));
	}
}

/* One u32 filter sending traffic of d (one protocol, one port or none)
 * to our shaped class.  Ports are read where they are without IP
 * options or IPv6 extension headers, as tc's own "ip dport" does. */
static int add_u32(struct fl_nl *nl, int ifindex, const struct fl_tc_place *at,
		   const struct fl_net_dest *d, int proto, uint16_t port,
		   int src, char *err, size_t n)
{
	struct u32_sel s = {0};
	int v4 = d->family == AF_INET, l4 = v4 ? 20 : 40;
	struct fl_nlmsg m;
	struct tcmsg *t;
	struct nlattr *o;

	s.sel.flags = TC_U32_TERMINAL;
	if (proto)
		u32_key(&s, v4 ? 8 : 4, v4 ? 0x00ff0000u : 0x0000ff00u,
			v4 ? (uint32_t)proto << 16 : (uint32_t)proto << 8);
	u32_addr(&s, v4 ? (src ? 12 : 16) : (src ? 8 : 24), d);
	if (port)
		u32_key(&s, l4, src ? 0xffff0000u : 0x0000ffffu,
			src ? (uint32_t)port << 16 : port);
	if (s.sel.nkeys == 0)
		u32_key(&s, 0, 0, 0);

	t = tc_start(&m, RTM_NEWTFILTER, NLM_F_CREATE, ifindex);
	t->tcm_parent = at->handle;
	t->tcm_info = TC_H_MAKE((v4 ? 1u : 2u) << 16,
				htons(v4 ? ETH_P_IP : ETH_P_IPV6));
	fl_nlmsg_put_str(&m, TCA_KIND, "u32");
	o = fl_nlmsg_nest_start(&m, TCA_OPTIONS);
	fl_nlmsg_put(&m, TCA_U32_SEL,
		     sizeof(s.sel) + s.sel.nkeys * sizeof(s.keys[0]), &s);
	fl_nlmsg_put_u32(&m, TCA_U32_CLASSID, at->handle | 1u);
	fl_nlmsg_nest_end(&m, o);
	return fl_nl_talk(nl, &m, NULL, NULL, "cannot add u32 filter", err, n);
}

static int add_filters(struct fl_nl *nl, int ifindex,
		       const struct fl_tc_place *at,
		       const struct fl_net_dest *d, int src, char *err,
		       size_t n)
{
	struct fl_net_dest any = *d;
	size_t k;
	int p;

	if (d->family == 0) {
		any.family = AF_INET;
		if (add_filters(nl, ifindex, at, &any, src, err, n) < 0)
			return -1;
		any.family = AF_INET6;
		return add_filters(nl, ifindex, at, &any, src, err, n);
	}
	if (d->nports == 0)
		return add_u32(nl, ifindex, at, d, d->proto, 0, src, err, n);
	for (p = IPPROTO_TCP; p <= IPPROTO_UDP; p += IPPROTO_UDP - IPPROTO_TCP)
		for (k = 0; k < d->nports; k++)
			if ((!d->proto || d->proto == p) &&
			    add_u32(nl, ifindex, at, d, p, d->ports[k], src,
				    err, n) < 0)
				return -1;
	return 0;
}

int fl_tc_shape(struct fl_nl *nl, int ifindex, const struct fl_tc_place *at,
		const struct fl_tc_rate *r, const struct fl_net_scope *s,
		int peer_is_src, char *err, size_t n)
{
	char ignore[64];
	size_t i;

	if (s->nto == 0)
		return add_tbf(nl, ifindex, at, r, err, n);
	if (add_htb(nl, ifindex, at, r, err, n) < 0)
		goto fail;
	for (i = 0; i < s->nto; i++)
		if (add_filters(nl, ifindex, at, &s->to[i], peer_is_src, err,
				n) < 0)
			goto fail;
	return 0;
fail:
	fl_tc_unplace(nl, ifindex, at, ignore, sizeof(ignore));
	return -1;
}

struct root_ctx {
	int ifindex;
	uint32_t handle; /* of the root qdisc, 0 if none seen */
	char kind[16];
};

static int root_cb(const struct nlmsghdr *nlh, void *data)
{
	struct root_ctx *rc = data;
	const struct tcmsg *t = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWQDISC || t->tcm_ifindex != rc->ifindex ||
	    t->tcm_parent != TC_H_ROOT)
		return MNL_CB_OK;
	rc->handle = t->tcm_handle;
	mnl_attr_for_each(a, nlh, sizeof(*t))
	{
		if (mnl_attr_get_type(a) == TCA_KIND &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(rc->kind, sizeof(rc->kind), "%s",
				 mnl_attr_get_str(a));
	}
	return MNL_CB_OK;
}

int fl_tc_place_find(struct fl_nl *nl, int ifindex, struct fl_tc_place *at,
		     char *err, size_t n)
{
	struct root_ctx rc = {.ifindex = ifindex};
	struct fl_nlmsg m;
	struct tcmsg *t;

	t = tc_start(&m, RTM_GETQDISC, NLM_F_DUMP, ifindex);
	(void)t;
	if (fl_nl_talk(nl, &m, root_cb, &rc, "cannot list qdiscs", err, n) < 0)
		return -1;
	at->nested = rc.handle == OUR_ROOT && strcmp(rc.kind, "netem") == 0;
	at->parent = at->nested ? OUR_ROOT | 1u : TC_H_ROOT;
	at->handle = at->nested ? OUR_NESTED : OUR_ROOT;
	return 0;
}

/* Netem's probabilities are fractions of 2^32 - 1. */
static uint32_t prob(double share)
{
	if (share <= 0)
		return 0;
	if (share >= 1)
		return UINT32_MAX;
	return (uint32_t)(share * UINT32_MAX);
}

int fl_tc_netem(struct fl_nl *nl, int ifindex, const struct fl_tc_netem *p,
		char *err, size_t n)
{
	struct tc_netem_qopt q = {0};
	struct tc_netem_corr corr = {0};
	struct tc_netem_corrupt cor = {0};
	struct fl_nlmsg m;
	struct tcmsg *t;
	struct nlattr *o;

	t = tc_start(&m, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex);
	t->tcm_parent = TC_H_ROOT;
	t->tcm_handle = OUR_ROOT;
	fl_nlmsg_put_str(&m, TCA_KIND, "netem");
	q.limit = 10000;
	q.loss = prob(p->loss);
	q.duplicate = prob(p->dup);
	corr.delay_corr = prob(p->delay_corr);
	corr.loss_corr = prob(p->loss_corr);
	corr.dup_corr = prob(p->dup_corr);
	cor.probability = prob(p->corrupt);
	cor.correlation = prob(p->corrupt_corr);

	/* Netem's options start with a bare struct, then attributes. */
	o = fl_nlmsg_nest_start(&m, TCA_OPTIONS);
	if (o && m.nlh->nlmsg_len + MNL_ALIGN(sizeof(q)) < sizeof(m.buf))
		memcpy(mnl_nlmsg_put_extra_header(m.nlh, sizeof(q)), &q,
		       sizeof(q));
	else
		m.overflow = 1;
	fl_nlmsg_put(&m, TCA_NETEM_CORR, sizeof(corr), &corr);
	fl_nlmsg_put(&m, TCA_NETEM_CORRUPT, sizeof(cor), &cor);
	fl_nlmsg_put_u64(&m, TCA_NETEM_LATENCY64, (uint64_t)p->delay_us * 1000);
	fl_nlmsg_put_u64(&m, TCA_NETEM_JITTER64, (uint64_t)p->jitter_us * 1000);
	fl_nlmsg_nest_end(&m, o);
	return fl_nl_talk(nl, &m, NULL, NULL, "cannot add netem qdisc", err, n);
}

int fl_tc_unplace(struct fl_nl *nl, int ifindex, const struct fl_tc_place *at,
		  char *err, size_t n)
{
	struct fl_nlmsg m;
	struct tcmsg *t;

	/* With our handle given, the kernel refuses to delete a qdisc that
	 * is someone else's ("Invalid handle"). */
	t = tc_start(&m, RTM_DELQDISC, 0, ifindex);
	t->tcm_parent = at->parent;
	t->tcm_handle = at->handle;
	if (fl_nl_talk(nl, &m, NULL, NULL, "cannot delete qdisc", err, n) == 0)
		return 1;
	if (errno == EINVAL || errno == ENOENT || errno == ENODEV)
		return 0;
	return -1;
}

int fl_tc_unroot(struct fl_nl *nl, int ifindex, char *err, size_t n)
{
	const struct fl_tc_place root = {.parent = TC_H_ROOT,
					 .handle = OUR_ROOT};

	return fl_tc_unplace(nl, ifindex, &root, err, n);
}

static void ifb_name(int ifindex, char *out, size_t n)
{
	snprintf(out, n, "%s%d", FL_NET_IFB_PREFIX, ifindex);
}

static int ifb_create(struct fl_nl *nl, const char *name, char *err, size_t n)
{
	struct fl_nlmsg m;
	struct ifinfomsg *ifi;
	struct nlattr *li;

	ifi = fl_nlmsg_start(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
			     sizeof(*ifi));
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	fl_nlmsg_put_str(&m, IFLA_IFNAME, name);
	li = fl_nlmsg_nest_start(&m, IFLA_LINKINFO);
	fl_nlmsg_put_str(&m, IFLA_INFO_KIND, "ifb");
	fl_nlmsg_nest_end(&m, li);
	return fl_nl_talk(nl, &m, NULL, NULL, "cannot create ifb device", err,
			  n);
}

static int link_delete(struct fl_nl *nl, const char *name, char *err, size_t n)
{
	struct fl_nlmsg m;
	struct ifinfomsg *ifi;

	ifi = fl_nlmsg_start(&m, RTM_DELLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	fl_nlmsg_put_str(&m, IFLA_IFNAME, name);
	if (fl_nl_talk(nl, &m, NULL, NULL, "cannot delete ifb device", err,
		       n) == 0)
		return 1;
	return errno == ENODEV ? 0 : -1;
}

static int add_ingress(struct fl_nl *nl, int ifindex, char *err, size_t n)
{
	struct fl_nlmsg m;
	struct tcmsg *t;

	t = tc_start(&m, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex);
	t->tcm_parent = TC_H_INGRESS;
	t->tcm_handle = INGRESS_HANDLE;
	fl_nlmsg_put_str(&m, TCA_KIND, "ingress");
	if (fl_nl_talk(nl, &m, NULL, NULL, "cannot add ingress qdisc", err,
		       n) == 0)
		return 0;
	return errno == EEXIST ? 0 : -1;
}

static int add_redirect(struct fl_nl *nl, int ifindex, int ifb, char *err,
			size_t n)
{
	struct u32_sel s = {0};
	struct tc_mirred mir = {0};
	struct fl_nlmsg m;
	struct tcmsg *t;
	struct nlattr *o, *acts, *act, *ao;

	s.sel.flags = TC_U32_TERMINAL;
	u32_key(&s, 0, 0, 0);
	mir.action = TC_ACT_STOLEN;
	mir.eaction = TCA_EGRESS_REDIR;
	mir.ifindex = (uint32_t)ifb;

	t = tc_start(&m, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex);
	t->tcm_parent = INGRESS_HANDLE;
	t->tcm_info = TC_H_MAKE(FL_NET_FILTER_PRIO << 16, htons(ETH_P_ALL));
	fl_nlmsg_put_str(&m, TCA_KIND, "u32");
	o = fl_nlmsg_nest_start(&m, TCA_OPTIONS);
	fl_nlmsg_put(&m, TCA_U32_SEL, sizeof(s.sel) + sizeof(s.keys[0]), &s);
	acts = fl_nlmsg_nest_start(&m, TCA_U32_ACT);
	act = fl_nlmsg_nest_start(&m, 1);
	fl_nlmsg_put_str(&m, TCA_ACT_KIND, "mirred");
	ao = fl_nlmsg_nest_start(&m, TCA_ACT_OPTIONS);
	fl_nlmsg_put(&m, TCA_MIRRED_PARMS, sizeof(mir), &mir);
	fl_nlmsg_nest_end(&m, ao);
	fl_nlmsg_nest_end(&m, act);
	fl_nlmsg_nest_end(&m, acts);
	fl_nlmsg_nest_end(&m, o);
	return fl_nl_talk(nl, &m, NULL, NULL, "cannot add redirect filter", err,
			  n);
}

int fl_tc_ifb_attach(struct fl_nl *nl, int ifindex, char *err, size_t n)
{
	char name[IF_NAMESIZE], ignore[64];
	int ifb;

	ifb_name(ifindex, name, sizeof(name));
	if (ifb_create(nl, name, err, n) < 0)
		return -1;
	ifb = (int)if_nametoindex(name);
	if (ifb <= 0) {
		snprintf(err, n, "ifb device '%s' vanished", name);
		goto fail;
	}
	if (add_ingress(nl, ifindex, err, n) < 0 ||
	    add_redirect(nl, ifindex, ifb, err, n) < 0)
		goto fail;
	return ifb;
fail:
	fl_tc_ifb_detach(nl, ifindex, ignore, sizeof(ignore));
	return -1;
}

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	int *count = data;

	if (nlh->nlmsg_type == RTM_NEWTFILTER)
		(*count)++;
	return MNL_CB_OK;
}

static int ingress_filters(struct fl_nl *nl, int ifindex, char *err, size_t n)
{
	struct fl_nlmsg m;
	struct tcmsg *t;
	int count = 0;

	t = tc_start(&m, RTM_GETTFILTER, NLM_F_DUMP, ifindex);
	t->tcm_parent = INGRESS_HANDLE;
	if (fl_nl_talk(nl, &m, count_cb, &count, "cannot list filters", err,
		       n) < 0)
		return -1;
	return count;
}

int fl_tc_ifb_detach(struct fl_nl *nl, int ifindex, char *err, size_t n)
{
	char name[IF_NAMESIZE];
	struct fl_nlmsg m;
	struct tcmsg *t;
	int removed = 0, r;

	t = tc_start(&m, RTM_DELTFILTER, 0, ifindex);
	t->tcm_parent = INGRESS_HANDLE;
	t->tcm_info = TC_H_MAKE(FL_NET_FILTER_PRIO << 16, htons(ETH_P_ALL));
	if (fl_nl_talk(nl, &m, NULL, NULL, "cannot delete redirect filter", err,
		       n) == 0)
		removed++;

	/* The ingress qdisc goes only when nobody else's filter is on it:
	 * it may have been there before us. */
	if (ingress_filters(nl, ifindex, err, n) == 0) {
		t = tc_start(&m, RTM_DELQDISC, 0, ifindex);
		t->tcm_parent = TC_H_INGRESS;
		t->tcm_handle = INGRESS_HANDLE;
		if (fl_nl_talk(nl, &m, NULL, NULL, "cannot delete ingress", err,
			       n) == 0)
			removed++;
	}
	ifb_name(ifindex, name, sizeof(name));
	r = link_delete(nl, name, err, n);
	if (r < 0)
		return -1;
	return removed + r;
}

void fl_tc_beacon_name(int ifindex, int ifb, const char *tag, char *out,
		       size_t n)
{
	snprintf(out, n, "%s-%s-%d-%s", FL_NET_PREFIX, ifb ? "ifb" : "tc",
		 ifindex, tag);
}

/* An ifb device of ours goes as a whole (its qdisc with it), guarded by
 * the beacon of the link it serves; any other link loses our root qdisc
 * unless its beacon is alive. */
static int sweep_link(struct fl_nl *nl, const struct fl_tc_link *l,
		      int (*alive)(const char *, void *), void *arg, char *err,
		      size_t n)
{
	char beacon[64], *end;
	long idx;

	if (!is_ours(l->name)) {
		fl_tc_beacon_name(l->ifindex, 0, "", beacon, sizeof(beacon));
		return alive(beacon, arg)
			       ? 0
			       : fl_tc_unroot(nl, l->ifindex, err, n);
	}
	idx = strtol(l->name + strlen(FL_NET_IFB_PREFIX), &end, 10);
	if (*end || idx <= 0 || idx > INT32_MAX)
		return link_delete(nl, l->name, err, n);
	fl_tc_beacon_name((int)idx, 1, "", beacon, sizeof(beacon));
	if (alive(beacon, arg))
		return 0;
	return fl_tc_ifb_detach(nl, (int)idx, err, n);
}

int fl_tc_sweep(int (*alive)(const char *beacon, void *arg), void *arg,
		char *err, size_t n)
{
	struct fl_tc_link links[FL_TC_LINKS_MAX];
	struct fl_nl nl;
	int k, i, r, removed = 0, rc = -1;

	if (fl_nl_open(&nl, NETLINK_ROUTE, err, n) < 0)
		return -1;
	k = fl_tc_links(&nl, links, FL_TC_LINKS_MAX, err, n);
	if (k < 0)
		goto out;
	for (i = 0; i < k; i++) {
		r = sweep_link(&nl, &links[i], alive, arg, err, n);
		if (r < 0)
			goto out;
		removed += r;
	}
	rc = removed;
out:
	fl_nl_close(&nl);
	return rc;
}
