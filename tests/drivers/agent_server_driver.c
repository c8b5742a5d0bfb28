/*
 * A command-line front to the operator's agent server
 * (operator/agent_server.h) for the integration tests, and a token mint.
 *
 *   agent_server_driver serve --cert F --key F --master-file F
 *       [--addr IP] [--port N] [--heartbeat S] [--silence S] [--hello S]
 *       [--max-sessions N]
 *   agent_server_driver mint --master-file F --run R --ns NS --name N
 *       --target T --inj I [--exp-in S]
 *
 * serve prints one JSON line per event on stdout: first
 * {"event":"listening","port":N}, then "welcomed", "refused" (with
 * "reason"), "status" (with "state", "faults", "message"), "order",
 * "closed" (with "why"); each with "inj" (when known) and "peer".  It
 * reads commands on stdin, one a line:
 *
 *   order INJ revert|abort [REASON]   queue an order ("ordered" or
 *                                     "no-session" line in answer)
 *   session INJ                       print the session ("session" line)
 *   live                              print {"event":"live","n":N}
 *   quit                              stop the server and exit 0
 *
 * End of input also stops it.  mint prints {"token":..., "proofKey":...}
 * (the proof key as base64url).  Exit status: 0, 1 when the server could
 * not start, 2 for bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent_server.h"
#include "agent_token.h"
#include "alloc.h"
#include "log.h"

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void __attribute__((noreturn)) usage(const char *why)
{
	fprintf(stderr,
		"agent_server_driver: %s\n"
		"usage: agent_server_driver serve --cert F --key F "
		"--master-file F [--addr IP] [--port N]\n"
		"           [--heartbeat S] [--silence S] [--hello S] "
		"[--max-sessions N]\n"
		"       agent_server_driver mint --master-file F --run R --ns NS "
		"--name N --target T --inj I [--exp-in S]\n",
		why);
	exit(2);
}

/* Prints o as one line and takes the reference. */
static void print(struct json_object *o)
{
	pthread_mutex_lock(&out_mu);
	printf("%s\n", json_object_to_json_string_ext(
			       o, JSON_C_TO_STRING_PLAIN |
					  JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	pthread_mutex_unlock(&out_mu);
	json_object_put(o);
}

static long number(const char *s, const char *flag)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0)
		usage(flag);
	return v;
}

static size_t read_master(const char *path, uint8_t *out, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		usage("cannot open the master key file");
	got = read(fd, out, n);
	close(fd);
	if (got < FL_AGENT_MASTER_MIN)
		usage("master key file: fewer than 32 bytes");
	return (size_t)got;
}

static void add_session(struct json_object *o,
			const struct fl_agent_session_info *si)
{
	struct json_object *faults = json_object_new_array(), *f;
	size_t i;

	json_object_object_add(o, "inj",
			       json_object_new_string(si->claims.inj));
	json_object_object_add(o, "run",
			       json_object_new_string(si->claims.run));
	json_object_object_add(o, "target",
			       json_object_new_string(si->claims.target));
	json_object_object_add(o, "live", json_object_new_boolean(si->live));
	json_object_object_add(
		o, "state",
		json_object_new_string(fl_agent_state_name(si->state)));
	for (i = 0; i < si->nfaults; i++) {
		f = json_object_new_object();
		json_object_object_add(
			f, "kind", json_object_new_string(si->faults[i].kind));
		json_object_object_add(
			f, "state",
			json_object_new_string(si->faults[i].state));
		json_object_array_add(faults, f);
	}
	json_object_object_add(o, "faults", faults);
	json_object_object_add(o, "message",
			       json_object_new_string(si->message));
	json_object_object_add(o, "ordersSent",
			       json_object_new_int((int)si->orders_sent));
	json_object_object_add(o, "heartbeatsRx",
			       json_object_new_int((int)si->heartbeats_rx));
	json_object_object_add(o, "closedWhy",
			       json_object_new_string(si->closed_why));
}

static void on_event(const struct fl_agent_event *ev, void *arg)
{
	static const char *const names[] = {"welcomed", "refused", "status",
					    "order", "closed"};
	struct json_object *o = json_object_new_object();

	(void)arg;
	json_object_object_add(o, "event",
			       json_object_new_string(names[ev->type]));
	json_object_object_add(o, "peer", json_object_new_string(ev->peer));
	json_object_object_add(o, "detail", json_object_new_string(ev->detail));
	if (ev->type == FL_AGENT_EV_REFUSED)
		json_object_object_add(
			o, "reason",
			json_object_new_string(
				fl_agent_refusal_name(ev->refusal)));
	if (ev->session)
		add_session(o, ev->session);
	print(o);
}

static void command(struct fl_agent_server *srv, char *line)
{
	struct fl_agent_session_info si;
	struct json_object *o = json_object_new_object();
	char inj[128] = "", what[16] = "", reason[128] = "";
	int n = sscanf(line, "order %127s %15s %127[^\n]", inj, what, reason);

	if (n >= 2) {
		json_object_object_add(
			o, "event",
			json_object_new_string(
				fl_agent_server_order(
					srv, inj,
					strcmp(what, "abort") == 0
						? FL_AGENT_ORDER_ABORT
						: FL_AGENT_ORDER_REVERT,
					reason) == 0
					? "ordered"
					: "no-session"));
		json_object_object_add(o, "inj", json_object_new_string(inj));
	} else if (sscanf(line, "session %127s", inj) == 1) {
		json_object_object_add(o, "event",
				       json_object_new_string("session"));
		json_object_object_add(
			o, "found",
			json_object_new_boolean(
				fl_agent_server_session(srv, inj, &si) == 0));
		if (json_object_get_boolean(json_object_object_get(o, "found")))
			add_session(o, &si);
	} else if (strncmp(line, "live", 4) == 0) {
		json_object_object_add(o, "event",
				       json_object_new_string("live"));
		json_object_object_add(
			o, "n",
			json_object_new_int((int)fl_agent_server_live(srv)));
	} else {
		json_object_object_add(o, "event",
				       json_object_new_string("bad-command"));
	}
	print(o);
}

static int serve(int argc, char **argv)
{
	struct fl_agent_server_config cfg = {.addr = "127.0.0.1"};
	struct fl_agent_server *srv;
	struct json_object *o;
	uint8_t master[256];
	char line[512], err[512];
	int i;

	for (i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--cert") == 0)
			cfg.cert_file = argv[i + 1];
		else if (strcmp(argv[i], "--key") == 0)
			cfg.key_file = argv[i + 1];
		else if (strcmp(argv[i], "--master-file") == 0)
			cfg.master_len = read_master(argv[i + 1], master,
						     sizeof(master));
		else if (strcmp(argv[i], "--addr") == 0)
			cfg.addr = argv[i + 1];
		else if (strcmp(argv[i], "--port") == 0)
			cfg.port = (int)number(argv[i + 1], "--port");
		else if (strcmp(argv[i], "--heartbeat") == 0)
			cfg.heartbeat_s = (int)number(argv[i + 1], argv[i]);
		else if (strcmp(argv[i], "--silence") == 0)
			cfg.silence_s = (int)number(argv[i + 1], argv[i]);
		else if (strcmp(argv[i], "--hello") == 0)
			cfg.hello_s = (int)number(argv[i + 1], argv[i]);
		else if (strcmp(argv[i], "--max-sessions") == 0)
			cfg.max_sessions = (size_t)number(argv[i + 1], argv[i]);
		else
			usage(argv[i]);
	}
	if (i != argc || !cfg.master_len)
		usage("serve needs --cert, --key and --master-file");
	cfg.master = master;
	cfg.on_event = on_event;
	fl_log_cfg.level = FL_LOG_WARN;
	srv = fl_agent_server_start(&cfg, err, sizeof(err));
	if (!srv) {
		fprintf(stderr, "agent_server_driver: %s\n", err);
		return 1;
	}
	o = json_object_new_object();
	json_object_object_add(o, "event", json_object_new_string("listening"));
	json_object_object_add(o, "port",
			       json_object_new_int(fl_agent_server_port(srv)));
	print(o);
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "quit", 4) == 0)
			break;
		command(srv, line);
	}
	fl_agent_server_stop(srv);
	return 0;
}

static int mint(int argc, char **argv)
{
	struct fl_agent_claims c;
	uint8_t master[256], key[FL_AGENT_KEY_LEN];
	char token[FL_AGENT_TOKEN_MAX], b64[FL_AGENT_B64_KEY_LEN];
	struct json_object *o;
	size_t mlen = 0;
	long exp_in = 600;
	int i;

	memset(&c, 0, sizeof(c));
	for (i = 2; i + 1 < argc; i += 2) {
		const char *v = argv[i + 1];

		if (strcmp(argv[i], "--master-file") == 0)
			mlen = read_master(v, master, sizeof(master));
		else if (strcmp(argv[i], "--run") == 0)
			snprintf(c.run, sizeof(c.run), "%s", v);
		else if (strcmp(argv[i], "--ns") == 0)
			snprintf(c.ns, sizeof(c.ns), "%s", v);
		else if (strcmp(argv[i], "--name") == 0)
			snprintf(c.name, sizeof(c.name), "%s", v);
		else if (strcmp(argv[i], "--target") == 0)
			snprintf(c.target, sizeof(c.target), "%s", v);
		else if (strcmp(argv[i], "--inj") == 0)
			snprintf(c.inj, sizeof(c.inj), "%s", v);
		else if (strcmp(argv[i], "--exp-in") == 0)
			exp_in = strtol(v, NULL, 10);
		else
			usage(argv[i]);
	}
	if (i != argc || !mlen)
		usage("mint needs --master-file and the claims");
	c.exp = (int64_t)time(NULL) + exp_in;
	if (fl_agent_token_sign(master, mlen, &c, token, sizeof(token), key) <
	    0)
		usage("claims refused by fl_agent_token_sign");
	fl_agent_b64url_encode(key, sizeof(key), b64, sizeof(b64));
	o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "proofKey", json_object_new_string(b64));
	print(o);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "mint") == 0)
		return mint(argc, argv);
	usage("no command");
}
