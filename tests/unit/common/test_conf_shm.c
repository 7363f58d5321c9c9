/*
 * conf_shm: sluice-stat's reader of the shm setting alone: the default, the
 * name rule shared with conf_load(), @include, and errors with their line,
 * while the rest of the file is not checked.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/conf_shm.h"

static char	dir[] = "/tmp/sluice-conf-shm-XXXXXX";
static char	path[sizeof(dir) + 32];

static void	setup(void);
static void	teardown(void);
static void	put(const char *name, const char *text);

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.conf", dir);
}

static void
teardown(void)
{
	char p[sizeof(path)];

	snprintf(p, sizeof(p), "%s/inc.conf", dir);
	unlink(p);
	unlink(path);
	rmdir(dir);
}

TestSuite(conf_shm, .init = setup, .fini = teardown);

static void
put(const char *name, const char *text)
{
	char p[sizeof(path)];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(conf_shm, name_and_default)
{
	struct conf_err e;
	char name[CONF_NAME_MAX];

	/* the rest of the file is not the reader's business: no listeners here */
	put("s.conf", "shm = \"/edge\";\n"
	    "routes = ( { regex_that_would_not_compile = \"(\"; } );\n");
	cr_assert_eq(conf_shm_read(path, name, sizeof(name), &e), 0, "%s", e.msg);
	cr_expect_str_eq(name, "/edge");
	put("s.conf", "workers = 2;\n");
	cr_assert_eq(conf_shm_read(path, name, sizeof(name), &e), 0);
	cr_expect_str_eq(name, CONF_SHM_DEFAULT);
}

Test(conf_shm, include_is_relative_to_the_file)
{
	struct conf_err e;
	char name[CONF_NAME_MAX];

	put("inc.conf", "shm = \"/included\";\n");
	put("s.conf", "@include \"inc.conf\"\n");
	cr_assert_eq(conf_shm_read(path, name, sizeof(name), &e), 0, "%s", e.msg);
	cr_expect_str_eq(name, "/included");
}

Test(conf_shm, errors)
{
	struct conf_err e;
	char name[CONF_NAME_MAX];

	put("s.conf", "workers = 1;\nshm = \"/a/b\";\n");
	cr_assert_eq(conf_shm_read(path, name, sizeof(name), &e), -1);
	cr_expect_eq(e.line, 2);
	cr_expect_str_eq(e.file, path);
	cr_expect_str_eq(e.msg, "shm: expected " CONF_SHM_EXPECT);
	put("s.conf", "shm = 5;\n");
	cr_expect_eq(conf_shm_read(path, name, sizeof(name), &e), -1);
	put("s.conf", "shm = \"/sluice\"\nworkers = ;\n");
	cr_assert_eq(conf_shm_read(path, name, sizeof(name), &e), -1, "syntax");
	cr_expect_gt(e.line, 0);
	unlink(path);
	cr_assert_eq(conf_shm_read(path, name, sizeof(name), &e), -1);
	cr_expect_eq(e.line, 0);
	cr_expect(strstr(e.msg, "cannot read the file") != NULL, "%s", e.msg);
}

Test(conf_shm, name_rule)
{
	cr_expect(conf_shm_name_ok("/sluice"));
	cr_expect(!conf_shm_name_ok("sluice"));
	cr_expect(!conf_shm_name_ok("/"));
	cr_expect(!conf_shm_name_ok("/a/b"));
}
