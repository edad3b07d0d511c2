/* libFuzzer target: the YAML configuration loader. Any input must end in a
 * loaded config or a one-line file:line:column error; never a crash or a
 * leak (ASan and LeakSanitizer run alongside). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/wsrelay-fuzz-config-%d.yaml", (int)getpid());
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);

	struct config cfg;
	char err[1024] = "";
	if (config_load(&cfg, path, err, sizeof(err)) == 0) {
		/* What loads must print as YAML that loads again. */
		char *text = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&text, &len);
		config_print(&cfg, out);
		fclose(out);
		config_free(&cfg);
		f = fopen(path, "wb");
		if (f) {
			fwrite(text, 1, len, f);
			fclose(f);
			if (config_load(&cfg, path, err, sizeof(err)) != 0)
				abort();
			config_free(&cfg);
		}
		free(text);
	} else if (!strchr(err, ':') || strchr(err, '\n')) {
		abort(); /* an error names the file and is one line */
	}
	return 0;
}
