/*
 * The shared config and credentials files.  Both are INI files; in the
 * config file a profile is "[profile NAME]" (the default profile may be
 * "[default]" as well), in the credentials file it is "[NAME]".  Keys are
 * read case-insensitively; indented lines continue a nested setting
 * ("s3 =" and its sub-keys), which nothing here uses, and are skipped.
 * Lines that start with '#' or ';' are comments.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "aws_impl.h"

/* A shared file larger than this is refused: it is not one a person
 * wrote. */
#define PROFILE_FILE_MAX (1 << 20)

struct field {
	const char *key;
	size_t off;
};

#define F(k, m)                                       \
	{                                             \
		k, offsetof(struct fl_aws_profile, m) \
	}
static const struct field fields[] = {
	F("region", region),
	F("aws_access_key_id", access_key_id),
	F("aws_secret_access_key", secret_key),
	F("aws_session_token", session_token),
	F("role_arn", role_arn),
	F("web_identity_token_file", web_identity_token_file),
	F("role_session_name", role_session_name),
	F("source_profile", source_profile),
	F("credential_process", credential_process),
};
#undef F

static char **slot(struct fl_aws_profile *p, const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcasecmp(key, fields[i].key) == 0)
			return (char **)((char *)p + fields[i].off);
	return NULL;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Whether section header text h (inside the brackets) names profile. */
static int section_is(const char *h, const char *profile, int config)
{
	if (!config)
		return strcmp(h, profile) == 0;
	if (strcmp(h, "default") == 0)
		return strcmp(profile, "default") == 0;
	if (strncmp(h, "profile", 7) != 0 || !isspace((unsigned char)h[7]))
		return 0;
	h += 8;
	while (isspace((unsigned char)*h))
		h++;
	return strcmp(h, profile) == 0;
}

static int read_all(const char *path, struct fl_buf *b, char *err,
		    size_t errlen, int *absent)
{
	FILE *f = fopen(path, "r");
	char chunk[4096];
	size_t n;
	int rc = 0;

	*absent = 0;
	if (!f) {
		if (errno == ENOENT) {
			*absent = 1;
			return 0;
		}
		snprintf(err, errlen, "cannot read '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (fl_buf_add(b, chunk, n) < 0) {
			snprintf(err, errlen, "'%s' is larger than %d bytes",
				 path, PROFILE_FILE_MAX);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "cannot read '%s'", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

/* Takes one line; returns -1 (err set) when it is malformed. */
static int take_line(struct fl_aws_profile *p, char *line, const char *name,
		     int config, int *in, const char *path, int lineno,
		     char *err, size_t errlen)
{
	char *s, *eq, **dst;

	if (line[0] == ' ' || line[0] == '\t')
		return 0; /* a nested setting's sub-key */
	s = trim(line);
	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		char *close = strchr(s, ']');

		if (!close) {
			snprintf(err, errlen,
				 "%s:%d: section header has no ']'", path,
				 lineno);
			return -1;
		}
		*close = '\0';
		*in = section_is(trim(s + 1), name, config);
		if (*in)
			p->found = 1;
		return 0;
	}
	eq = strchr(s, '=');
	if (!eq) {
		snprintf(err, errlen, "%s:%d: expected 'key = value'", path,
			 lineno);
		return -1;
	}
	if (!*in)
		return 0;
	*eq = '\0';
	dst = slot(p, trim(s));
	if (dst && *trim(eq + 1)) {
		free(*dst);
		*dst = fl_strdup(trim(eq + 1));
	}
	return 0;
}

static int load_file(struct fl_aws_profile *p, const char *name,
		     const char *path, int config, char *err, size_t errlen)
{
	struct fl_buf b;
	char *line, *next;
	int absent, in = 0, lineno = 0, rc = -1;

	fl_buf_init(&b, PROFILE_FILE_MAX);
	if (read_all(path, &b, err, errlen, &absent) < 0)
		goto out;
	if (absent || !b.data) {
		rc = 0;
		goto out;
	}
	if (memchr(b.data, '\0', b.len)) {
		snprintf(err, errlen, "'%s' is not a text file", path);
		goto out;
	}
	for (line = b.data; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (take_line(p, line, name, config, &in, path, lineno, err,
			      errlen) < 0)
			goto out;
	}
	rc = 0;
out:
	fl_buf_release(&b);
	return rc;
}

/* Loads a profile from the two files (see aws.h). */
int fl_aws_profile_load(struct fl_aws_profile *p, const char *name,
			const char *config_file, const char *creds_file,
			char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	err[0] = '\0';
	if (config_file && load_file(p, name, config_file, 1, err, errlen) < 0)
		goto fail;
	/* Read second so that its values replace the config file's. */
	if (creds_file && load_file(p, name, creds_file, 0, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	fl_aws_profile_release(p);
	return -1;
}

/* Frees the strings of p and zeroes it. */
void fl_aws_profile_release(struct fl_aws_profile *p)
{
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		free(*(char **)((char *)p + fields[i].off));
	memset(p, 0, sizeof(*p));
}
