/*
 * XML answers of the query protocol, read with libxml2.  AWS puts every
 * element in a namespace that changes with the API version, so elements
 * are found by local name only.  Parsing never touches the network and
 * never expands entities: an answer is data, not a document to resolve.
 */
#include <limits.h>
#include <string.h>

#include <libxml/parser.h>

#include "aws_impl.h"

/* Parses data as XML; NULL when it is not well-formed. */
xmlDoc *fl_xml_parse(const char *data, size_t len)
{
	if (!data || len == 0 || len > INT_MAX)
		return NULL;
	return xmlReadMemory(data, (int)len, NULL, NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR |
				     XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
}

static int named(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	       strcmp((const char *)n->name, name) == 0;
}

/* The first child element of n called name, or NULL. */
xmlNode *fl_xml_child(const xmlNode *n, const char *name)
{
	xmlNode *c;

	if (!n)
		return NULL;
	for (c = n->children; c; c = c->next)
		if (named(c, name))
			return c;
	return NULL;
}

/* The next sibling element of n with the same name, or NULL. */
xmlNode *fl_xml_next(const xmlNode *n)
{
	xmlNode *c;

	if (!n)
		return NULL;
	for (c = n->next; c; c = c->next)
		if (named(c, (const char *)n->name))
			return c;
	return NULL;
}

/* Follows "a/b/c" from n. */
xmlNode *fl_xml_path(const xmlNode *n, const char *path)
{
	char step[128];
	const char *p = path;
	xmlNode *cur = (xmlNode *)n;

	while (cur && *p) {
		size_t len = strcspn(p, "/");

		if (len == 0 || len >= sizeof(step))
			return NULL;
		memcpy(step, p, len);
		step[len] = '\0';
		cur = fl_xml_child(cur, step);
		p += len;
		if (*p == '/')
			p++;
	}
	return cur;
}

/* Copies the text of the element at path (n itself when path is "") into
 * out. */
char *fl_xml_text(const xmlNode *n, const char *path, char *out, size_t outlen)
{
	xmlNode *e = fl_xml_path(n, path);
	xmlChar *s;

	if (outlen)
		out[0] = '\0';
	if (!e)
		return NULL;
	s = xmlNodeGetContent(e);
	if (!s)
		return NULL;
	if (outlen) {
		size_t len = strlen((const char *)s);

		if (len >= outlen)
			len = outlen - 1;
		memcpy(out, s, len);
		out[len] = '\0';
	}
	xmlFree(s);
	return out;
}

/* Adds the text at path as a string under key. */
void fl_xml_put_str(struct json_object *o, const char *key, const xmlNode *n,
		    const char *path)
{
	xmlNode *e = fl_xml_path(n, path);
	xmlChar *s;

	if (!e)
		return;
	s = xmlNodeGetContent(e);
	if (!s)
		return;
	json_object_object_add(o, key, json_object_new_string((char *)s));
	xmlFree(s);
}

/* Adds the text at path as a boolean under key. */
void fl_xml_put_bool(struct json_object *o, const char *key, const xmlNode *n,
		     const char *path)
{
	char v[16];

	if (fl_xml_text(n, path, v, sizeof(v)))
		json_object_object_add(
			o, key,
			json_object_new_boolean(strcmp(v, "true") == 0));
}
