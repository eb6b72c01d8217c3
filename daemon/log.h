/* SPDX-License-Identifier: GPL-2.0 */
/*
 * log.h - leveled logging of xpmemd to stderr or syslog, and a rate
 * limiter for messages a peer can provoke (bad MACs, replays).
 */
#ifndef XPMEMD_LOG_H
#define XPMEMD_LOG_H

#include <stdint.h>
#include <syslog.h>

/* Levels are syslog's priorities, so they pass straight through. */
enum log_level {
	LOG_LVL_ERR = LOG_ERR,
	LOG_LVL_WARN = LOG_WARNING,
	LOG_LVL_NOTICE = LOG_NOTICE,
	LOG_LVL_INFO = LOG_INFO,
	LOG_LVL_DEBUG = LOG_DEBUG,
};

void log_init(const char *ident, int use_syslog, int level);
void log_set_level(int level);
int log_get_level(void);
/* "error", "warn", "notice", "info", "debug" -> level, or -1. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/*
 * At most one message per interval; the ones held back are counted and
 * reported with the next one let through.
 */
struct ratelimit {
	uint64_t interval_ms;
	uint64_t last_ms;	/* when the last message went out */
	uint64_t suppressed;
	int primed;
};

/*
 * 1 if a message may go out at now_ms (then *suppressed is how many were
 * held back since the last one), 0 if it must be dropped.
 */
int ratelimit_ok(struct ratelimit *rl, uint64_t now_ms, uint64_t *suppressed);

#endif /* XPMEMD_LOG_H */
