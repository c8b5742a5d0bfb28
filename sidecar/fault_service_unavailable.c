/*
 * serviceUnavailable: connections to the target's own ports are refused
 * (tcp reset; icmp port unreachable for udp), as if nothing listened.
 */
#include <netinet/in.h>
#include <string.h>

#include "fault_net.h"
#include "json.h"

static int unavailable_parse(struct json_object *params, void *state,
			     struct fl_errors *errs)
{
	struct fl_netf *f = state;
	struct json_object *ports = fl_json_get(params, "ports");
	struct json_object *scope = json_object_new_object();
	int rc;

	/* Read interface and protocol like any scope; the ports are ours,
	 * on every address. */
	json_object_object_add(
		scope, "interface",
		json_object_get(fl_json_get(params, "interface")));
	json_object_object_add(scope, "direction",
			       json_object_new_string("ingress"));
	rc = fl_net_scope_parse(scope, &f->scope, errs);
	json_object_put(scope);
	f->action = FL_NFT_REJECT;
	f->scope.local_ports = 1;
	f->scope.nto = 1;
	memset(&f->scope.to[0], 0, sizeof(f->scope.to[0]));
	if (fl_json_str(params, "protocol")) {
		const char *p = fl_json_str(params, "protocol");

		f->scope.to[0].proto =
			strcmp(p, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
	}
	for (size_t i = 0; i < fl_json_len(ports) && i < FL_NET_PORTS_MAX;
	     i++) {
		int64_t port = json_object_get_int64(
			json_object_array_get_idx(ports, i));

		if (port < 1 || port > 65535) {
			fl_errors_add(errs, 0, "ports",
				      "port %lld is not in 1..65535",
				      (long long)port);
			rc = -1;
		}
		f->scope.to[0].ports[f->scope.to[0].nports++] = (uint16_t)port;
	}
	if (f->scope.to[0].nports == 0) {
		fl_errors_add(errs, 0, "ports", "names no port");
		rc = -1;
	}
	return rc;
}

const struct fl_fault_ops fl_fault_service_unavailable_ops = {
	.kind = "serviceUnavailable",
	.state_size = sizeof(struct fl_netf),
	.parse = unavailable_parse,
	.apply = fl_netf_apply,
	.revert = fl_netf_revert,
	.sweep = fl_net_sweep,
	.status = fl_netf_status,
};
