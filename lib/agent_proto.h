/*
 * The agent channel's messages: one JSON object per WebSocket text frame,
 * at most FL_AGENT_FRAME_MAX bytes, with a "type" field.
 *
 *   operator -> injector
 *     {"type":"challenge","challenge":"<base64url>"}
 *     {"type":"welcome","inj":"i-1","heartbeat":5}
 *     {"type":"heartbeat","ts":1767000000}
 *     {"type":"order","inj":"i-1","order":"revert"|"abort","reason":"..."}
 *     {"type":"bye","reason":"forged"}           (then the server closes)
 *   injector -> operator
 *     {"type":"hello","token":"...","proof":"<base64url>","ts":1767000000}
 *     {"type":"heartbeat","ts":1767000000}
 *     {"type":"status","state":"active",
 *      "faults":[{"kind":"cpuStress","state":"applied"}],"message":"..."}
 *
 * Parsing is strict: unknown types and fields, missing fields, wrong
 * types, oversized or deeply nested text are refused with an error that
 * names the field.  Which side may send which type is the receiver's
 * check (fl_agent_msg_from_injector()).
 */
#ifndef FL_AGENT_PROTO_H
#define FL_AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "agent_token.h"
#include "buf.h"

#define FL_AGENT_FRAME_MAX 65536 /* bytes of one message */
#define FL_AGENT_MAX_FAULTS 16	 /* entries of status.faults */

enum fl_agent_msg_type {
	FL_AGENT_MSG_CHALLENGE,
	FL_AGENT_MSG_WELCOME,
	FL_AGENT_MSG_HEARTBEAT,
	FL_AGENT_MSG_ORDER,
	FL_AGENT_MSG_BYE,
	FL_AGENT_MSG_HELLO,
	FL_AGENT_MSG_STATUS,
	FL_AGENT_MSG_N,
};

enum fl_agent_order { FL_AGENT_ORDER_REVERT, FL_AGENT_ORDER_ABORT };

/* An injector's state, as status messages report it. */
enum fl_agent_state {
	FL_AGENT_STATE_NONE, /* no status yet (never on the wire) */
	FL_AGENT_STATE_APPLYING,
	FL_AGENT_STATE_ACTIVE,
	FL_AGENT_STATE_REVERTING,
	FL_AGENT_STATE_REVERTED,
	FL_AGENT_STATE_FAILED,
	FL_AGENT_STATE_N,
};

struct fl_agent_fault_status {
	char kind[40];	/* "cpuStress" */
	char state[16]; /* "applied", "reverted", "failed", "pending" */
};

/* One message.  Only the fields of its type are meaningful. */
struct fl_agent_msg {
	enum fl_agent_msg_type type;
	int64_t ts;				/* hello, heartbeat */
	char challenge[FL_AGENT_CHALLENGE_LEN]; /* challenge */
	char token[FL_AGENT_TOKEN_MAX];		/* hello */
	char proof[FL_AGENT_B64_KEY_LEN];	/* hello */
	char inj[128];				/* welcome, order */
	int heartbeat_s;			/* welcome */
	enum fl_agent_order order;		/* order */
	char reason[128];			/* order, bye */
	enum fl_agent_state state;		/* status */
	struct fl_agent_fault_status faults[FL_AGENT_MAX_FAULTS]; /* status */
	size_t nfaults;
	char message[512]; /* status; may be empty */
};

/* Stable names: "challenge", ... ; "revert", "abort"; "applying", ...
 * Never NULL ("unknown" for a value out of range). */
const char *fl_agent_msg_type_name(enum fl_agent_msg_type t);
const char *fl_agent_order_name(enum fl_agent_order o);
const char *fl_agent_state_name(enum fl_agent_state s);

/* Nonzero for the types an injector may send (hello, heartbeat,
 * status). */
int fl_agent_msg_from_injector(enum fl_agent_msg_type t);

/* Nonzero for the types the operator may send (challenge, welcome,
 * heartbeat, order, bye). */
int fl_agent_msg_from_operator(enum fl_agent_msg_type t);

/*
 * Parses one frame of len bytes (it need not be NUL-terminated).  Returns
 * 0 with m filled, or -1 with m zeroed and a lowercase message in err
 * naming the field ("status.state: 'busy' is not one of applying, ...").
 */
int fl_agent_msg_parse(const char *text, size_t len, struct fl_agent_msg *m,
		       char *err, size_t errlen);

/*
 * Appends m as one JSON object to out (which is reset first).  Returns 0,
 * or -1 with err filled when a field is not valid for its type or the
 * text would exceed FL_AGENT_FRAME_MAX or out's own maximum.
 */
int fl_agent_msg_format(const struct fl_agent_msg *m, struct fl_buf *out,
			char *err, size_t errlen);

#endif
