/*
 * libFuzzer harness for conf_load(): the input is a config file. Loading it
 * must never crash or leak, whatever it holds; errors are printed to
 * /dev/null so their formatting runs too.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/conf_load.h"
#include "tests/fuzz/fuzz.h"

/* The signature of getaddrinfo(3), to reach the real one. */
typedef int gai_fn(const char *, const char *, const struct addrinfo *,
    struct addrinfo **);

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int	LLVMFuzzerInitialize(int *argc, char ***argv);
const char *__lsan_default_suppressions(void);
const char *__lsan_default_options(void);

static void	cleanup(void);
static void	put_file(const char *, const void *, size_t);
static int	includes_ok(const uint8_t *, size_t);

/* Files that @include may name: copies of the unit-test fixture. */
static const char *const inc_names[] = { "include_part.inc", "part.inc" };
static const char inc_text[] =
	"sources = ( { name = \"app1\"; address = \"127.0.0.1:9001\"; weight = 2; } );\n";

/* Per-process directory: parallel jobs (-jobs=N) never share a file. */
static char	dir[64];
static char	path[96];
static FILE	*devnull;

/*
 * Numeric addresses only (and "localhost"): a fuzzed host name must not turn
 * into DNS traffic and timeouts. Overrides libc's symbol in this binary only.
 */
int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
    struct addrinfo **res)
{
	static gai_fn *real;
	struct addrinfo h;

	if (real == NULL && (real = (gai_fn *)dlsym(RTLD_NEXT, "getaddrinfo")) == NULL)
		abort();
	memset(&h, 0, sizeof(h));
	if (hints != NULL)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST;
	if (node != NULL && strcasecmp(node, "localhost") == 0)
		node = "127.0.0.1";
	return real(node, service, &h, res);
}

/*
 * libconfig 1.5 (Debian 12) leaks the string of a token that a syntax error
 * discards (hyperrealm/libconfig#142, fixed in 1.7.3 by #155); a program that
 * only calls config_read_file() and config_destroy() shows it too. Only the
 * scanner's two allocation sites are ignored: settings that conf_load()
 * fails to free are still reported.
 */
const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

/* Keeps the log readable: the suppressed leak fires on many inputs. */
const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}

static void
cleanup(void)
{
	char p[128];
	size_t i;

	for (i = 0; i < sizeof(inc_names) / sizeof(inc_names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, inc_names[i]);
		unlink(p);
	}
	unlink(path);
	rmdir(dir);
}

static void
put_file(const char *p, const void *data, size_t len)
{
	int fd;

	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		abort();
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

/*
 * libconfig opens any file an @include names, and "/dev/zero" or a FIFO
 * would hang the run: only the two prepared names are let through.
 */
static int
includes_ok(const uint8_t *data, size_t len)
{
	static const char kw[] = "@include";
	size_t i, j, k, n;

	for (i = 0; i + sizeof(kw) - 1 <= len; i++) {
		if (strncasecmp((const char *)data + i, kw, sizeof(kw) - 1) != 0)
			continue;
		for (j = i + sizeof(kw) - 1; j < len && (data[j] == ' ' || data[j] == '\t'); j++)
			;
		for (k = 0; k < sizeof(inc_names) / sizeof(inc_names[0]); k++) {
			n = strlen(inc_names[k]);
			if (len - j >= n + 2 && data[j] == '"' &&
			    memcmp(data + j + 1, inc_names[k], n) == 0 && data[j + n + 1] == '"')
				break;
		}
		if (k == sizeof(inc_names) / sizeof(inc_names[0]))
			return 0;
	}
	return 1;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char p[128];
	size_t i;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/sluice-fuzz-conf.%ld.XXXXXX", (long)getpid());
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/in.conf", dir);
	for (i = 0; i < sizeof(inc_names) / sizeof(inc_names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, inc_names[i]);
		put_file(p, inc_text, sizeof(inc_text) - 1);
	}
	if ((devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct conf_errs *errs;
	struct conf *c;

	if (!includes_ok(data, len))
		return 0;
	/* struct conf_errs is 25 KB: keep it off the fuzzer's stack */
	if ((errs = malloc(sizeof(*errs))) == NULL)
		abort();
	put_file(path, data, len);
	c = conf_load(path, errs);
	CHECK((c == NULL) == (errs->total > 0));
	CHECK(errs->n <= errs->total && errs->n <= sizeof(errs->err) / sizeof(errs->err[0]));
	conf_errs_print(errs, devnull);
	conf_free(c);
	free(errs);
	return 0;
}
