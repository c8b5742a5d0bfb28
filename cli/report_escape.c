/*
 * Escaping for the report formats.
 */
#include <string.h>

#include "report.h"

int fl_report_xml_escape(struct fl_buf *out, const char *s)
{
	int rc = 0;

	for (; s && *s && !rc; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&':
			rc = fl_buf_adds(out, "&amp;");
			break;
		case '<':
			rc = fl_buf_adds(out, "&lt;");
			break;
		case '>':
			rc = fl_buf_adds(out, "&gt;");
			break;
		case '"':
			rc = fl_buf_adds(out, "&quot;");
			break;
		case '\'':
			rc = fl_buf_adds(out, "&#39;");
			break;
		case '\t':
		case '\n':
			/* Kept as references: a raw one in an attribute
			 * would be normalised to a space. */
			rc = fl_buf_addf(out, "&#%d;", c);
			break;
		default:
			/* XML 1.0 has no way to carry the other controls,
			 * not even as references. */
			if (c < 0x20 || c == 0x7f)
				rc = fl_buf_adds(out, "\xef\xbf\xbd");
			else
				rc = fl_buf_addc(out, (char)c);
		}
	}
	return rc ? -1 : 0;
}

int fl_report_md_escape(struct fl_buf *out, const char *s, const char *def)
{
	int rc = 0;

	if (!s || !*s)
		s = def ? def : "";
	for (; *s && !rc; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '&')
			rc = fl_buf_adds(out, "&amp;");
		else if (c == '<')
			rc = fl_buf_adds(out, "&lt;");
		else if (c == '>')
			rc = fl_buf_adds(out, "&gt;");
		else if (c < 0x20 || c == 0x7f)
			rc = fl_buf_addc(out, ' ');
		else if (strchr("\\|`*_[]#!~", c))
			rc = fl_buf_addf(out, "\\%c", c);
		else
			rc = fl_buf_addc(out, (char)c);
	}
	return rc ? -1 : 0;
}
