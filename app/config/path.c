/* A loaded configuration must not depend on the directory the relay was
 * started from, so its relative paths resolve against the file's folder. */
#include "path.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* base + "/" + rel[0..rel_len). */
static char *join_path(const char *base, const char *rel, size_t rel_len)
{
	size_t base_len = strlen(base);
	bool slash = base_len > 0 && base[base_len - 1] == '/';
	char *out = malloc(base_len + !slash + rel_len + 1);

	if (!out)
		return NULL;
	memcpy(out, base, base_len);
	if (!slash)
		out[base_len++] = '/';
	memcpy(out + base_len, rel, rel_len);
	out[base_len + rel_len] = '\0';
	return out;
}

/* Deliberately no realpath(): the file need not exist yet. */
char *path_resolve(const char *base, const char *path)
{
	if (path[0] == '\0' || path[0] == '/')
		return strdup(path);
	return join_path(base, path, strlen(path));
}

char *path_folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *cwd, *out;

	if (path[0] == '/')
		return strndup(path, slash == path ? 1 : (size_t)(slash - path));
	cwd = getcwd(NULL, 0);
	if (!cwd || !slash)
		return cwd;
	out = join_path(cwd, path, (size_t)(slash - path));
	free(cwd);
	return out;
}
