/*
 * The sidecar's input: one run of one or more faults on one target, as
 * JSON.
 *
 *   {"tag": "r1a2b3", "duration": "30s",
 *    "faults": [{"kind": "cpuStress", "params": {"load": 50}}, ...],
 *    "target": {"pid": 123, "cgroup": "/sys/fs/cgroup/..."},
 *    "control": {"cidr": "10.0.0.5/32", "port": 8443},
 *    "allowControlCut": false,
 *    "agent": {"url": "wss://10.0.0.5:8443", "caCert": "-----BEGIN ...",
 *              "token": "...", "proofKey": "...", "graceSeconds": 30}}
 *
 * "agent" is optional: without it the sidecar talks to nobody and only
 * its deadline and signals end the run (see agent_client.h).
 *
 * Each fault's params are validated against the CRD's schema for its kind
 * (the same checks the API server made), then read by the kind's parse().
 * Nothing here touches the system.
 */
#ifndef FL_SIDECAR_SPEC_H
#define FL_SIDECAR_SPEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "errors.h"
#include "fault.h"

#define FL_SPEC_MAX_FAULTS 16
#define FL_SPEC_MAX_DURATION_MS (24LL * 3600 * 1000)
#define FL_SPEC_AGENT_CA_MAX (64 * 1024)
#define FL_SPEC_AGENT_GRACE_S 30

struct fl_spec_fault {
	const struct fl_fault_ops *ops;
	void *state; /* ops->state_size bytes, owned here */
	int applied; /* apply() succeeded (or a failed apply could not be
		       * undone) and revert() has not */
	int parsed;  /* parse() succeeded: release() is due */
};

struct fl_spec {
	struct json_object *doc; /* owns every string below */
	const char *tag;
	int64_t duration_ms;
	pid_t target_pid;	  /* 0 when not given */
	const char *cgroup;	  /* NULL when not given */
	const char *control_cidr; /* NULL when not given */
	int control_port;
	int allow_control_cut;
	/* The agent channel; agent_url is NULL when the spec has none. */
	const char *agent_url;
	const char *agent_ca; /* PEM text */
	const char *agent_token;
	const char *agent_proof_key; /* base64url */
	int agent_grace_s;	     /* dead-man switch; default 30 */
	struct fl_spec_fault *faults;
	size_t nfaults;
};

/*
 * Parses and validates a spec from JSON text.  Returns 0 with sp filled
 * (release it with fl_spec_release()), or -1 with errs naming each bad
 * field and sp left empty.
 */
int fl_spec_parse(const char *text, struct fl_spec *sp, struct fl_errors *errs);

void fl_spec_release(struct fl_spec *sp);

#endif
