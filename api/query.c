/* query.c -- see query.h. */
#include "query.h"

#include <string.h>
#include <strings.h>

enum query_answer query_find_plain(const char *query, const char *name, const char **value,
                                   size_t *length)
{
    if (strpbrk(query, "%+"))
        return QUERY_DECLINED;
    size_t name_length = strlen(name);
    const char *found = NULL;
    size_t found_length = 0;
    for (const char *piece = query; *piece;) {
        const char *end = strchr(piece, '&');
        if (!end)
            end = piece + strlen(piece);
        const char *equals = memchr(piece, '=', (size_t)(end - piece));
        if (!equals || equals == piece)
            return QUERY_ABSENT;
        if (!found && (size_t)(equals - piece) == name_length &&
            strncasecmp(piece, name, name_length) == 0) {
            found = equals + 1;
            found_length = (size_t)(end - found);
        }
        if (!*end)
            break;
        piece = end + 1;
    }
    if (!found)
        return QUERY_ABSENT;
    *value = found;
    *length = found_length;
    return QUERY_FOUND;
}
