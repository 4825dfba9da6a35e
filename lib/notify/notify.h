/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Notifications: a JSON POST to every configured URL for each decision
 * and transition, from the management loop, never blocking it.
 *
 * Each URL has a bounded FIFO: a notification that finds it full is
 * dropped and counted. One request per URL is in flight at a time (so a
 * receiver sees them in order); a failure (no connection, timeout, a
 * status other than 2xx) is retried with exponential backoff up to a
 * number of attempts, then given up and counted. libevent's HTTP client
 * does the I/O on the loop; DNS names are not resolved (addresses only:
 * a resolver could block the loop). http:// only.
 */
#ifndef UMBRA_NOTIFY_H
#define UMBRA_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct notify;

/** Most URLs notified. */
#define NOTIFY_URLS_MAX 8

/** What to notify and how hard to try. */
struct notify_conf {
	const char *urls[NOTIFY_URLS_MAX];
	unsigned int n_urls;
	unsigned int queue_max;   /**< notifications waiting per URL (256) */
	unsigned int attempts;    /**< tries per notification (5) */
	unsigned int timeout_ms;  /**< per try (2000) */
	unsigned int backoff_ms;  /**< first retry delay, doubled each time (200) */
	const char *bearer;       /**< Authorization: Bearer value, or NULL */
};

/** Counters, summed over URLs (or of one URL). */
struct notify_stats {
	uint64_t queued;      /**< accepted into a queue */
	uint64_t delivered;   /**< answered 2xx */
	uint64_t retried;     /**< tries after a failure */
	uint64_t given_up;    /**< every attempt failed */
	uint64_t dropped;     /**< the queue was full */
	uint64_t waiting;     /**< in queues now (in flight included) */
};

/** Fill @p c with the defaults (and no URLs). */
void notify_conf_default(struct notify_conf *c);

/**
 * Notifications on @p base for @p c (URLs copied).
 * @return the notifier, or NULL with one sentence in @p err (a URL that
 * is not http://ADDRESS[:PORT]/PATH).
 */
struct notify *notify_new(struct event_base *base, const struct notify_conf *c,
			  char *err, size_t errlen);

/** Cancel what is pending and free. */
void notify_free(struct notify *n);

/**
 * Queue @p json (copied) for every URL, with header X-Umbra-Topic: @p topic.
 * @return the URLs it was queued for (the rest were full and counted).
 */
unsigned int notify_post(struct notify *n, const char *topic, const char *json);

/** Counters of every URL together (@p url < 0) or of one. */
void notify_get_stats(const struct notify *n, int url, struct notify_stats *s);

#endif /* UMBRA_NOTIFY_H */
