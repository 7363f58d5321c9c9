/*
 * sluice-stat's configuration reader: one setting, shm, with the same rule
 * and default as conf_load.c. Besides conf_load.c, the one file that
 * includes libconfig.h.
 */
#include "common/conf_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

static void	seterr(struct conf_err *err, const char *file, int line, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

static void
seterr(struct conf_err *err, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->file, sizeof(err->file), "%s", file);
	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

bool
conf_shm_name_ok(const char *v)
{
	return v[0] == '/' && v[1] != '\0' && strchr(v + 1, '/') == NULL;
}

int
conf_shm_read(const char *path, char *name, size_t size, struct conf_err *err)
{
	char dir[CONF_STR_MAX];
	const char *slash, *v;
	config_setting_t *s;
	config_t cfg;
	FILE *fp;
	int rc = -1, saved, cwd = -1, read_ok;

	if (size < CONF_NAME_MAX || strlen(path) >= sizeof(dir)) {
		seterr(err, path, 0, "file path too long (at most %zu characters)",
		    sizeof(dir) - 1);
		return -1;
	}
	config_init(&cfg);
	errno = 0;
	if ((fp = fopen(path, "r")) == NULL) {
		seterr(err, path, 0, "cannot read the file: %s",
		    errno != 0 ? strerror(errno) : "I/O error");
		goto out;
	}
	/*
	 * As conf_load(): parsed from the file's directory, so a relative
	 * @include is relative to it and an absolute one is used as is (libconfig
	 * 1.5 would put include_dir in front of absolute paths too).
	 */
	if ((slash = strrchr(path, '/')) != NULL) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if ((cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) != -1 &&
		    chdir(slash == path ? "/" : dir) == -1) {
			close(cwd);
			cwd = -1;
		}
		if (cwd == -1)
			config_set_include_dir(&cfg, slash == path ? "/" : dir);
	}
	read_ok = config_read(&cfg, fp) == CONFIG_TRUE;
	saved = errno;
	fclose(fp);
	if (cwd != -1) {
		if (fchdir(cwd) == -1)
			saved = errno;
		close(cwd);
	}
	if (!read_ok) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			seterr(err, path, 0, "cannot read the file: %s",
			    saved != 0 ? strerror(saved) : "I/O error");
		else
			seterr(err, config_error_file(&cfg) != NULL ?
			    config_error_file(&cfg) : path, config_error_line(&cfg), "%s",
			    config_error_text(&cfg));
		goto out;
	}
	s = config_setting_get_member(config_root_setting(&cfg), "shm");
	if (s == NULL) {
		snprintf(name, size, "%s", CONF_SHM_DEFAULT);
		rc = 0;
		goto out;
	}
	v = config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
	if (v == NULL || strlen(v) >= CONF_NAME_MAX || !conf_shm_name_ok(v)) {
		seterr(err, config_setting_source_file(s) != NULL ?
		    config_setting_source_file(s) : path, (int)config_setting_source_line(s),
		    "shm: expected %s", CONF_SHM_EXPECT);
		goto out;
	}
	snprintf(name, size, "%s", v);
	rc = 0;
out:
	config_destroy(&cfg);
	return rc;
}
