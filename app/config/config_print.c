/* config_print(): the effective configuration as YAML that config_load reads
 * back to the same settings, written by walking the schema so that every key
 * appears, in the schema's order. */
#include <inttypes.h>

#include "broker_url.h"
#include "config.h"
#include "config_schema.h"
#include "listen_addr.h"
#include "quote.h"

static void print_listen(const struct listen_addr *addr, FILE *out)
{
	char buf[LISTEN_ADDR_TEXT_SIZE];

	listen_addr_format(addr, buf);
	quote_print(buf, out);
}

/* A broker URL's password is "***": --check-config output gets pasted into
 * tickets. */
static void print_url(const char *url, FILE *out)
{
	char redacted[1024];
	broker_url_redact(url, redacted, sizeof(redacted));
	quote_print(redacted, out);
}

static void print_section(const void *self, const struct config_section *sec, int indent, FILE *out)
{
	for (size_t i = 0; i < sec->count; i++) {
		const struct config_field *f = &sec->fields[i];
		const void *slot = config_const_member(self, f->offset);
		const size_t *count =
		    config_const_member(self, f->count_offset); /* list kinds only */

		fprintf(out, "%*s%s:", indent, "", f->name);
		switch (f->kind) {
		case KIND_SECTION:
			fputc('\n', out);
			print_section(slot, f->section, indent + 2, out);
			continue;
		case KIND_BOOL:
			fprintf(out, " %s", *(const bool *)slot ? "true" : "false");
			break;
		case KIND_UINT:
			fprintf(out, " %" PRIu64,
			        f->size == sizeof(uint32_t) ? *(const uint32_t *)slot
			                                    : *(const uint64_t *)slot);
			break;
		case KIND_URL_PATH:
		case KIND_FILE:
		case KIND_STRING:
		case KIND_NAME:
			fputc(' ', out);
			quote_print(*(char *const *)slot, out);
			break;
		case KIND_LISTEN:
			fputc(' ', out);
			print_listen(slot, out);
			break;
		case KIND_LISTEN_LIST: {
			const struct listen_addr *addrs = *(struct listen_addr *const *)slot;

			/* The usual single address stays on one line, as in conf/wsrelay.yaml. */
			if (*count <= 1) {
				fputc(' ', out);
				if (*count == 1)
					print_listen(&addrs[0], out);
				else
					fputs("[]", out);
				break;
			}
			for (size_t k = 0; k < *count; k++) {
				fprintf(out, "\n%*s- ", indent + 2, "");
				print_listen(&addrs[k], out);
			}
			break;
		}
		case KIND_BROKER_URLS:
		case KIND_NETWORKS:
		case KIND_WORDS:
		case KIND_ORIGINS: {
			char *const *origins = *(char **const *)slot;

			/* A single URL stays on one line, as in conf/wsrelay.yaml. */
			if (f->kind == KIND_BROKER_URLS && *count == 1) {
				fputc(' ', out);
				print_url(origins[0], out);
				break;
			}
			if (*count == 0)
				fputs(" []", out);
			for (size_t k = 0; k < *count; k++) {
				fprintf(out, "\n%*s- ", indent + 2, "");
				if (f->kind == KIND_BROKER_URLS)
					print_url(origins[k], out);
				else
					quote_print(origins[k], out);
			}
			break;
		}
		case KIND_ENUM:
			fputc(' ', out);
			quote_print(config_enum_name(f->names, *(const int *)slot), out);
			break;
		}
		fputc('\n', out);
	}
}

void config_print(const struct config *cfg, FILE *out)
{
	fputs("# effective configuration\n", out);
	if (cfg->source) {
		/* A line break in the path would end the comment early. */
		fputs("# from ", out);
		for (const char *p = cfg->source; *p; p++)
			fputc(*p == '\n' || *p == '\r' ? '?' : *p, out);
		fputc('\n', out);
	}
	print_section(cfg, &config_root_section, 0, out);
}
