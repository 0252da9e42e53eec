/* query.h -- one parameter of a URI query string, found without allocating.
 *
 * Answers exactly as evhttp_parse_query_str + evhttp_find_header would for a query with
 * nothing to decode (no '%' and no '+'), and declines the others so that the caller asks
 * evhttp: the first piece whose key equals the name, ASCII case-insensitively; no answer at
 * all when any piece lacks its '=' or its key (evhttp refuses the whole query then). Pure
 * code: no I/O, no allocation. */
#ifndef EDUMON_API_QUERY_H
#define EDUMON_API_QUERY_H

#include <stddef.h>

enum query_answer {
    QUERY_ABSENT,  /* no such parameter, or a query evhttp refuses */
    QUERY_FOUND,   /* its value is at *value, *length bytes (not NUL-terminated) */
    QUERY_DECLINED /* the query has something to decode: ask evhttp */
};

enum query_answer query_find_plain(const char *query, const char *name, const char **value,
                                   size_t *length);

#endif
