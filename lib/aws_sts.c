/*
 * STS: who we are (GetCallerIdentity), and the web identity exchange that
 * IRSA and the credential chain use.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "aws_impl.h"

/* Who the credentials belong to (see aws.h). */
int fl_aws_sts_get_caller_identity(fl_aws *a, struct json_object **out,
				   struct fl_aws_error *err)
{
	xmlDoc *d;
	xmlNode *r;

	*out = NULL;
	if (fl_aws_query(a, FL_AWS_STS, "GetCallerIdentity", NULL, 0, &d, err) <
	    0)
		return -1;
	r = fl_xml_path(xmlDocGetRootElement(d), "GetCallerIdentityResult");
	if (!r || !fl_xml_path(r, "Arn")) {
		xmlFreeDoc(d);
		fl_aws_err_set(err, "sts", "GetCallerIdentity", 200,
			       "InvalidResponse", "the answer has no Arn");
		return -1;
	}
	*out = json_object_new_object();
	fl_xml_put_str(*out, "account", r, "Account");
	fl_xml_put_str(*out, "arn", r, "Arn");
	fl_xml_put_str(*out, "userId", r, "UserId");
	xmlFreeDoc(d);
	return 0;
}

static int creds_from(const xmlNode *r, struct fl_aws_creds *out)
{
	char key[256], secret[256], exp[64];
	xmlNode *tok = fl_xml_path(r, "Credentials/SessionToken");
	xmlChar *token = tok ? xmlNodeGetContent(tok) : NULL;
	time_t t = 0;
	int rc = -1;

	if (!fl_xml_text(r, "Credentials/AccessKeyId", key, sizeof(key)) ||
	    !fl_xml_text(r, "Credentials/SecretAccessKey", secret,
			 sizeof(secret)) ||
	    !token || !*key || !*secret)
		goto out;
	if (fl_xml_text(r, "Credentials/Expiration", exp, sizeof(exp)) &&
	    fl_aws_parse_time(exp, &t) < 0)
		goto out;
	out->access_key_id = fl_strdup(key);
	out->secret_key = fl_strdup(secret);
	out->session_token = fl_strdup((const char *)token);
	out->expiration = t;
	out->source = "web-identity";
	rc = 0;
out:
	xmlFree(token);
	return rc;
}

/* The unsigned web identity exchange (see aws.h). */
int fl_aws_sts_assume_role_with_web_identity(fl_aws *a, const char *role_arn,
					     const char *session_name,
					     const char *token,
					     struct fl_aws_creds *out,
					     struct fl_aws_error *err)
{
	static const char action[] = "AssumeRoleWithWebIdentity";
	struct fl_buf p;
	xmlDoc *d = NULL;
	xmlNode *r;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	fl_buf_init(&p, 0);
	if (!role_arn || !*role_arn || !session_name || !*session_name ||
	    !token || !*token) {
		fl_aws_err_set(err, "sts", action, 0, "InvalidParameter",
			       "role arn, session name and token are all "
			       "required");
		goto out;
	}
	fl_aws_form_add(&p, "RoleArn", role_arn);
	fl_aws_form_add(&p, "RoleSessionName", session_name);
	fl_aws_form_add(&p, "WebIdentityToken", token);
	if (fl_aws_query(a, FL_AWS_STS, action, &p, 1, &d, err) < 0)
		goto out;
	r = fl_xml_path(xmlDocGetRootElement(d),
			"AssumeRoleWithWebIdentityResult");
	if (!r || creds_from(r, out) < 0) {
		fl_aws_err_set(err, "sts", action, 200, "InvalidResponse",
			       "the answer has no complete Credentials");
		goto out;
	}
	rc = 0;
out:
	xmlFreeDoc(d);
	fl_buf_release(&p);
	return rc;
}
