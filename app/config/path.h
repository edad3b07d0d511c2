/* Relative paths in the config, made absolute against a base folder. */
#ifndef WSRELAY_PATH_H
#define WSRELAY_PATH_H

/* path made absolute against base, newly allocated (NULL if out of memory).
 * "" (not set) and absolute paths stay as they are. */
char *path_resolve(const char *base, const char *path);

/* The absolute folder holding the file at path, newly allocated; NULL with
 * errno set if the current directory is unknown or memory runs out. */
char *path_folder_of(const char *path);

#endif
