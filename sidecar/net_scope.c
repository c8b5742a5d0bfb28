/*
 * Reading the network scope shared by every network fault.
 */
#include "net_scope.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int fl_net_cidr_parse(const char *text, struct fl_net_dest *d)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	int max, i;
	char *end;
	long prefix;

	if (len == 0 || len >= sizeof(addr))
		return -1;
	memcpy(addr, text, len);
	addr[len] = '\0';
	memset(d->addr, 0, sizeof(d->addr));
	if (inet_pton(AF_INET, addr, d->addr) == 1)
		d->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, d->addr) == 1)
		d->family = AF_INET6;
	else
		return -1;
	max = d->family == AF_INET ? 32 : 128;
	prefix = max;
	if (slash) {
		prefix = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || prefix < 0 || prefix > max)
			return -1;
	}
	d->prefix = (int)prefix;

	/* Clear host bits so that the address compares equal to what the
	 * kernel's masked load gives. */
	for (i = 0; i < max / 8; i++) {
		int keep = d->prefix - i * 8;

		if (keep <= 0)
			d->addr[i] = 0;
		else if (keep < 8)
			d->addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
	return 0;
}

static int parse_proto(const char *p)
{
	if (!p)
		return 0;
	if (strcmp(p, "tcp") == 0)
		return IPPROTO_TCP;
	if (strcmp(p, "udp") == 0)
		return IPPROTO_UDP;
	return -1;
}

static void parse_dest(struct json_object *item, size_t i,
		       struct fl_net_dest *d, struct fl_errors *errs)
{
	struct json_object *ports = fl_json_get(item, "ports");
	const char *cidr = fl_json_str(item, "cidr");
	char path[64];
	size_t k;

	snprintf(path, sizeof(path), "to[%zu]", i);
	if (!cidr || fl_net_cidr_parse(cidr, d) < 0)
		fl_errors_add(errs, 0, path,
			      "cidr '%s' is not an address "
			      "with an optional prefix length",
			      cidr ? cidr : "");
	d->proto = parse_proto(fl_json_str(item, "protocol"));
	if (d->proto < 0)
		fl_errors_add(errs, 0, path, "protocol must be tcp or udp");
	if (fl_json_len(ports) > FL_NET_PORTS_MAX)
		fl_errors_add(errs, 0, path, "more than %d ports",
			      FL_NET_PORTS_MAX);
	for (k = 0; k < fl_json_len(ports) && k < FL_NET_PORTS_MAX; k++) {
		int64_t port = json_object_get_int64(
			json_object_array_get_idx(ports, k));

		if (port < 1 || port > 65535)
			fl_errors_add(errs, 0, path,
				      "port %lld is not in "
				      "1..65535",
				      (long long)port);
		d->ports[d->nports++] = (uint16_t)port;
	}
}

static unsigned parse_dir(const char *dir)
{
	if (!dir || strcmp(dir, "egress") == 0)
		return FL_NET_EGRESS;
	if (strcmp(dir, "ingress") == 0)
		return FL_NET_INGRESS;
	if (strcmp(dir, "both") == 0)
		return FL_NET_BOTH;
	return 0;
}

int fl_net_scope_parse(struct json_object *params, struct fl_net_scope *s,
		       struct fl_errors *errs)
{
	struct json_object *to = fl_json_get(params, "to");
	const char *ifname = fl_json_str(params, "interface");
	size_t before = errs->n + errs->dropped, i;

	memset(s, 0, sizeof(*s));
	if (to && !json_object_is_type(to, json_type_array))
		fl_errors_add(errs, 0, "to", "must be a list");
	if (fl_json_len(to) > FL_NET_TO_MAX)
		fl_errors_add(errs, 0, "to", "more than %d destinations",
			      FL_NET_TO_MAX);
	for (i = 0; i < fl_json_len(to) && i < FL_NET_TO_MAX; i++)
		parse_dest(json_object_array_get_idx(to, i), i,
			   &s->to[s->nto++], errs);
	s->dir = parse_dir(fl_json_str(params, "direction"));
	if (!s->dir)
		fl_errors_add(errs, 0, "direction",
			      "must be egress, ingress or both");
	if (ifname) {
		if (strlen(ifname) == 0 || strlen(ifname) >= IF_NAMESIZE ||
		    strchr(ifname, '/'))
			fl_errors_add(errs, 0, "interface",
				      "'%s' is not an interface name", ifname);
		else
			snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	}
	return errs->n + errs->dropped > before ? -1 : 0;
}

double fl_net_share(struct json_object *params, const char *key)
{
	struct json_object *v = fl_json_get(params, key);
	double d = v ? json_object_get_double(v) : 0;

	if (d < 0)
		return 0;
	return d > 100 ? 1 : d / 100.0;
}
