/*
 * Identifiers from directives, in the database's quote (see ident.h).
 * The directive parser (directive.c) has already checked that every
 * quoted part ends; here a part that does not is copied as it is.
 */
#include "checks/ident.h"

#include <string.h>

#include "migrator/buf.h"

void mg_ident_requote(struct mg_buf *out, const char *name, char q)
{
	const char *p = name;

	while (*p != '\0') {
		char from = *p;
		const char *s;

		if (from != '"' && from != '`') {
			/* a bare part, or a dot between parts */
			s = p;
			while (*p != '\0' && *p != '"' && *p != '`')
				p++;
			mg_buf_addf(out, "%.*s", (int)(p - s), s);
			continue;
		}
		mg_buf_addf(out, "%c", q);
		for (p++; *p != '\0'; p++) {
			if (*p == from) {
				if (p[1] != from)
					break; /* the closing quote */
				p++;       /* a doubled quote: one character */
			}
			/* the new quote inside the name is doubled */
			if (*p == q)
				mg_buf_addf(out, "%c", q);
			mg_buf_addf(out, "%c", *p);
		}
		mg_buf_addf(out, "%c", q);
		if (*p == from)
			p++;
	}
}
