/*
 * LD_PRELOAD shim for tests: counts malloc/calloc/realloc calls per process
 * and writes the count to $MALLOC_COUNT_DIR/<pid> when the process exits.
 * Used to show that the proxy makes no heap allocation per request in
 * steady state.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Atomic unsigned long	count;
static void			*(*real_malloc)(size_t);
static void			*(*real_calloc)(size_t, size_t);
static void			*(*real_realloc)(void *, size_t);

/* dlsym may call calloc before we know the real one: serve it from here. */
static char	boot[4096];
static size_t	boot_used;

static void *
boot_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (boot_used + n > sizeof(boot))
		return NULL;
	p = boot + boot_used;
	boot_used += n;
	return p;
}

void *
malloc(size_t n)
{
	if (real_malloc == NULL)
		real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	count++;
	return real_malloc(n);
}

void *
calloc(size_t a, size_t b)
{
	if (real_calloc == NULL) {
		static int in_dlsym;

		if (in_dlsym)
			return boot_alloc(a * b);	/* static storage is zeroed */
		in_dlsym = 1;
		real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
		in_dlsym = 0;
	}
	count++;
	return real_calloc(a, b);
}

void *
realloc(void *p, size_t n)
{
	if (real_realloc == NULL)
		real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	count++;
	return real_realloc(p, n);
}

void
free(void *p)
{
	static void (*real_free)(void *);

	if (p >= (void *)boot && p < (void *)(boot + sizeof(boot)))
		return;
	if (real_free == NULL)
		real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real_free(p);
}

__attribute__((destructor)) static void
report(void)
{
	const char *dir = getenv("MALLOC_COUNT_DIR");
	char path[512], line[64];
	int fd, n;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%d", dir, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd == -1)
		return;
	n = snprintf(line, sizeof(line), "%lu\n", (unsigned long)count);
	if (write(fd, line, (size_t)n) != n)
		(void)0;
	close(fd);
}
