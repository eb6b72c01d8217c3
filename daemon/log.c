// SPDX-License-Identifier: GPL-2.0
/*
 * log.c - leveled logging to stderr (foreground, tests, journald) or
 * syslog.  Under systemd stderr goes to the journal: JOURNAL_STREAM is
 * set and each line gets a "<N>" priority prefix journald understands.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *log_ident = "xpmemd";
static int log_syslog;
static int log_level = LOG_LVL_INFO;
static int log_journal;

static const struct {
	const char *name;
	int level;
} log_names[] = {
	{ "error", LOG_LVL_ERR },
	{ "warn", LOG_LVL_WARN },
	{ "notice", LOG_LVL_NOTICE },
	{ "info", LOG_LVL_INFO },
	{ "debug", LOG_LVL_DEBUG },
};

void log_init(const char *ident, int use_syslog, int level)
{
	log_ident = ident;
	log_syslog = use_syslog;
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(int level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

int log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (!strcmp(name, log_names[i].name))
			return log_names[i].level;
	return -1;
}

const char *log_level_name(int level)
{
	size_t i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (log_names[i].level == level)
			return log_names[i].name;
	return "?";
}

void log_msg(int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_syslog) {
		syslog(level, "%s", line);
	} else if (log_journal) {
		fprintf(stderr, "<%d>%s\n", level, line);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s %s: %s\n",
			tm.tm_hour, tm.tm_min, tm.tm_sec,
			ts.tv_nsec / 1000000, log_ident,
			log_level_name(level), line);
	}
}

int ratelimit_ok(struct ratelimit *rl, uint64_t now_ms, uint64_t *suppressed)
{
	if (rl->primed && now_ms - rl->last_ms < rl->interval_ms) {
		rl->suppressed++;
		return 0;
	}
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	rl->last_ms = now_ms;
	rl->primed = 1;
	return 1;
}
