/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Comparing a shadow's answers with production's.
 *
 * Workers cut each shadowed flow into exchanges (a request and its
 * response, per side: production, shadow, and optionally a control replica
 * of production) and emit one compact record per exchange and side on
 * their ring to the management core. The management core pairs the
 * records of one exchange and keeps, per shadow profile and endpoint
 * (HTTP method + path, or the server port), what matched and what did not,
 * latency distributions of every side, and a bounded set of mismatch
 * samples. Differences that production and the control also show are
 * noise, not mismatches.
 *
 * Worker half (no EAL, bytes in, records out): compare_http.c (HTTP/1.x
 * requests and responses: keep-alive, pipelining, Content-Length and
 * chunked bodies, ignored headers), compare_dns.c (DNS answers),
 * compare_digest.c (digests); lib/shadow cuts flows into exchanges.
 * Management half: compare_ctl.c (pairing, reports, the capture of
 * mismatched exchanges that lib/shadow/shadow_capture.c writes as pcapng).
 */
#ifndef UMBRA_COMPARE_H
#define UMBRA_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/** Bytes of an HTTP path (or DNS name) kept in a record, with its NUL. */
#define COMPARE_PATH_MAX 64
/** Headers whose values a profile ignores, at most. */
#define COMPARE_IGNORE_MAX 16
/** Longest header name compared against the ignore list. */
#define COMPARE_HDR_NAME_MAX 48

/** Whose answer a record describes. */
enum compare_side {
	COMPARE_PROD = 0,
	COMPARE_SHADOW,
	COMPARE_CONTROL,
	COMPARE_SIDES
};

/** How a flow's bytes are understood. */
enum compare_proto {
	COMPARE_BYTES = 0,      /**< raw: a request is what the client sends until the server answers */
	COMPARE_HTTP,           /**< HTTP/1.x */
	COMPARE_DNS,            /**< DNS over UDP, paired by query ID */
};

/** Bits of compare_record.flags. */
enum {
	COMPARE_F_RESET = 1 << 0,   /**< the side reset the connection */
	COMPARE_F_NO_ANSWER = 1 << 1, /**< the side never answered (timeout, closed) */
	COMPARE_F_TRUNCATED = 1 << 2, /**< the answer was cut short (close mid-body) */
	COMPARE_F_UNPARSED = 1 << 3,  /**< not valid HTTP/DNS: compared as bytes */
	COMPARE_F_BYTES = 1 << 7,     /**< a struct compare_chunk, not a record */
};

/**
 * One exchange of one side (128 bytes). Digests are 64-bit hashes; equal
 * digests mean equal bytes for the purpose of comparison.
 */
struct compare_record {
	uint64_t flow_id;       /**< unique over the process's life */
	uint32_t exchange;      /**< 0, 1, ... in the flow (DNS: the query ID) */
	uint8_t side;           /**< enum compare_side */
	uint8_t proto;          /**< enum compare_proto */
	uint8_t profile;        /**< shadow profile index */
	uint8_t flags;          /**< COMPARE_F_* */
	uint16_t status;        /**< HTTP status code, DNS rcode; 0: none */
	uint16_t server_port;
	uint32_t latency_us;    /**< request's first byte to the answer's first byte */
	uint32_t size;          /**< answer bytes (HTTP: body bytes) */
	uint64_t digest;        /**< all the answer's bytes (HTTP: status code,
				     headers not ignored, then body) */
	uint64_t header_digest; /**< HTTP: headers not ignored, in order */
	uint64_t body_digest;   /**< HTTP: body (dechunked); DNS: answers */
	char method[8];         /**< HTTP method, "" otherwise */
	char path[COMPARE_PATH_MAX]; /**< HTTP path (no query string cut), DNS name */
};
_Static_assert(sizeof(struct compare_record) <= 144, "records stay small");

/* ------------------------------------------------------------------ */
/* Evidence: the first bytes of answers and requests, for a sample of   */
/* flows.                                                               */

/** Bytes of an answer kept as evidence (its first ones, as received). */
#define COMPARE_HEAD_MAX 256
/**
 * One flow in this many carries evidence: those whose flow_id is 1 modulo
 * it (flow ids count up from 1 per worker, the worker in the top bits, so
 * each worker's first flow is one). Every exchange and side of such a flow sends the
 * first COMPARE_HEAD_MAX bytes of its answer as COMPARE_HEAD_CHUNKS
 * chunks on the record ring, right before its record, and each exchange
 * that has a record its request's first bytes and its addresses
 * (COMPARE_CHUNK_REQUEST, COMPARE_CHUNK_ADDR: for captures), before its
 * first record; other flows cost nothing more.
 */
#define COMPARE_EVIDENCE_EVERY 4

/** Bytes a chunk carries. */
#define COMPARE_CHUNK_BYTES 108

/** Chunks of one answer's head at most. */
#define COMPARE_HEAD_CHUNKS \
	((COMPARE_HEAD_MAX + COMPARE_CHUNK_BYTES - 1) / COMPARE_CHUNK_BYTES)

/**
 * A piece of an answer's head, sent on the record ring in a record's
 * place (flags has COMPARE_F_BYTES at the same offset as a record's).
 */
struct compare_chunk {
	uint64_t flow_id;
	uint32_t exchange;
	uint8_t side;           /**< enum compare_side */
	uint8_t part;           /**< 0, 1, ...: where in the head (x COMPARE_CHUNK_BYTES) */
	uint8_t profile;
	uint8_t flags;          /**< COMPARE_F_BYTES */
	uint16_t len;           /**< bytes of data used */
	uint16_t total;         /**< the head's length, all chunks */
	uint8_t data[COMPARE_CHUNK_BYTES];
};
_Static_assert(sizeof(struct compare_chunk) == sizeof(struct compare_record),
	       "a chunk takes a record's place");
_Static_assert(__builtin_offsetof(struct compare_chunk, flags) ==
	       __builtin_offsetof(struct compare_record, flags), "flags line up");
_Static_assert(__builtin_offsetof(struct compare_chunk, profile) ==
	       __builtin_offsetof(struct compare_record, profile), "profile lines up");

/**
 * Chunks with these sides carry what a capture needs besides the answers
 * (compare_chunk.side; never a record's): the request's head, and the
 * exchange's addresses (a struct compare_addr in the data).
 */
#define COMPARE_CHUNK_REQUEST 3
#define COMPARE_CHUNK_ADDR 4
/** Kinds of chunk a head can be assembled from (answers, request, addresses). */
#define COMPARE_CHUNK_KINDS 5

/** Where an exchange took place (a COMPARE_CHUNK_ADDR chunk's data). */
struct compare_addr {
	uint8_t family;         /**< 4 or 6 */
	uint8_t l4_proto;       /**< 6 TCP, 17 UDP */
	uint16_t client_port;   /**< host order */
	uint16_t server_port;
	uint16_t in_port;       /**< DPDK port the client's packets came in on */
	uint16_t target_port[COMPARE_SIDES - 1]; /**< shadow's, control's port
						      (the shadow network reuses
						      the server's address) */
	uint8_t client[16];     /**< IPv4 in the first 4 bytes */
	uint8_t server[16];
};
_Static_assert(sizeof(struct compare_addr) <= 108, "an address fits a chunk");

/**
 * The addresses of exchange @p exchange of flow @p flow_id as one chunk
 * in @p out, when the flow carries evidence. @return 1, or 0 (nothing).
 */
unsigned int compare_addr_chunk(uint64_t flow_id, uint32_t exchange, uint8_t profile,
				const struct compare_addr *a, struct compare_chunk *out);

/** The head of the answer a side is receiving (worker, per session and side). */
struct compare_head {
	uint32_t seen;          /**< bytes of the answer fed so far */
	uint16_t len;           /**< of them kept in data */
	uint8_t data[COMPARE_HEAD_MAX];
};

/** Whether flow @p flow_id carries evidence. */
static inline bool
compare_evidence_sampled(uint64_t flow_id)
{
	return flow_id % COMPARE_EVIDENCE_EVERY == 1;
}

/**
 * Bytes of the answer being received by flow @p flow_id (nothing when the
 * flow carries no evidence): the first COMPARE_HEAD_MAX are kept.
 */
void compare_head_add(struct compare_head *h, uint64_t flow_id,
		      const uint8_t *data, uint32_t len);

/**
 * An answer ended @p rest_len bytes before the end of what was last fed
 * (those, at @p rest, start the next answer): its head as chunks into
 * @p out (zero when none was kept), then the head restarts with @p rest.
 * @return chunks written, at most COMPARE_HEAD_CHUNKS.
 */
unsigned int compare_head_take(struct compare_head *h, uint64_t flow_id,
			       uint32_t exchange, uint8_t side, uint8_t profile,
			       const uint8_t *rest, uint32_t rest_len,
			       struct compare_chunk out[COMPARE_HEAD_CHUNKS]);

/**
 * As compare_head_take(), but the ended head moves to @p out (whose
 * compare_head_take() with no rest sends it later) instead of into
 * chunks: a request's head held until its exchange has a record.
 */
void compare_head_move(struct compare_head *h, uint64_t flow_id,
		       const uint8_t *rest, uint32_t rest_len, struct compare_head *out);

/** Headers a profile ignores (lower case names, "date", "set-cookie"). */
struct compare_ignore {
	uint8_t n;
	char names[COMPARE_IGNORE_MAX][COMPARE_HDR_NAME_MAX];
};

/* ------------------------------------------------------------------ */
/* Worker half: cutting one direction of a flow into messages.          */

/** A message found in a stream (a request, or a response). */
struct compare_msg {
	uint16_t status;        /**< response: status code */
	uint8_t flags;          /**< COMPARE_F_UNPARSED, COMPARE_F_TRUNCATED */
	uint32_t size;          /**< body bytes (or all bytes when unparsed) */
	uint64_t digest;
	uint64_t header_digest;
	uint64_t body_digest;
	char method[8];         /**< request: method */
	char path[COMPARE_PATH_MAX]; /**< request: path */
	uint32_t end;           /**< compare_http_feed(): bytes of the piece fed
				     up to the message's end */
};

/**
 * Incremental HTTP/1.x parser of one direction of one connection: fed the
 * stream's bytes in order, in pieces of any size (a message may be split
 * at any byte, several may share one piece: pipelining). Fixed size, no
 * allocation. Bodies: Content-Length, chunked (with trailers), or until
 * the connection closes (responses without either); responses to HEAD and
 * 1xx/204/304 have none. Interim 1xx responses are skipped; a 101 is
 * reported and what follows it is not HTTP (unparsed bytes).
 *
 * A message's digests: header_digest over its header lines (and trailer
 * lines) not on the ignore list, in order, each as lower-case name ':'
 * value trimmed of surrounding blanks '\n'; body_digest over the body
 * (dechunked); digest over the status code's three digits (response) or
 * method SP request target (request, both in full), then header_digest
 * and body_digest as 8 little-endian bytes each.
 *
 * The fields are private to compare_http.c.
 */
struct compare_http {
	uint8_t state;          /**< where in a message (compare_http.c) */
	uint8_t is_response;
	uint8_t head_pending;   /**< requests seen as HEAD, answers not yet */
	uint8_t done;           /**< the message just ended: emit, skip (1xx), upgrade (101) */
	uint8_t flags;          /**< COMPARE_F_* of the current message */
	uint8_t cr;             /**< a CR ended a line: LF must follow */
	uint8_t pos;            /**< bytes of "HTTP/1.x", status or chunk size digits read */
	uint8_t hdr;            /**< the current header's part in framing */
	uint8_t ignored;        /**< the current header is on the ignore list */
	uint8_t name_len;       /**< its name's length; COMPARE_HDR_NAME_MAX + 1: longer */
	uint8_t method_len;     /**< the method's full length */
	uint8_t in_trailers;    /**< header lines are a chunked body's trailers */
	uint8_t te;             /**< Transfer-Encoding seen */
	uint8_t chunked;        /**< and its last coding is chunked */
	uint8_t te_count;       /**< non-blank bytes of its value (up to 8) */
	uint8_t num_state;      /**< Content-Length value: 0 empty, 1 digits, 2 blank after */
	uint8_t raw_on;         /**< the message's raw bytes are digested */
	uint16_t status;
	uint16_t path_len;
	uint32_t size;          /**< body bytes (saturating) */
	uint32_t dropped;       /**< messages that found no room in feed's out */
	uint64_t remaining;     /**< body or chunk bytes left */
	uint64_t content_length; /**< UINT64_MAX: none */
	uint64_t num;           /**< Content-Length or chunk size being read */
	uint64_t te_tail;       /**< last 8 non-blank bytes of Transfer-Encoding */
	uint64_t start_digest;  /**< method SP target, or status code */
	uint64_t header_digest, body_digest;
	uint64_t value_mark;    /**< header_digest before a value's trailing blanks */
	uint64_t raw_digest;    /**< the message's bytes as they came, for when */
	uint64_t raw_size;      /**< it turns out not to be HTTP */
	char name[COMPARE_HDR_NAME_MAX]; /**< the current header name, lower case */
	char method[8];
	char path[COMPARE_PATH_MAX];
};

/** Start parsing a stream of requests (@p is_response false) or responses. */
void compare_http_init(struct compare_http *p, bool is_response);

/**
 * Feed @p len bytes. Each message completed in them is written to
 * @p out (up to @p max; more are parsed but not written, and counted in
 * the parser's dropped). A response parser must be told that a HEAD
 * request went out with compare_http_expect_head() before its answer.
 * @return messages written; a stream that is not HTTP (bad start line,
 * header line, chunk size or Content-Length) becomes COMPARE_F_UNPARSED
 * from the start of the message that failed: its bytes and all that
 * follow are digested as bytes and reported as one message at close.
 */
unsigned int compare_http_feed(struct compare_http *p, const uint8_t *data,
			       size_t len, const struct compare_ignore *ign,
			       struct compare_msg *out, unsigned int max);

/**
 * The request just parsed was HEAD: the next final response has no body.
 * (A count, not a queue: with HEAD pipelined behind other requests, the
 * next response is taken as HEAD's.)
 */
void compare_http_expect_head(struct compare_http *p);

/**
 * The connection closed: a response read until close ends here; a
 * message cut short (in its head, or before the end of its Content-Length
 * or chunked body) is reported with COMPARE_F_TRUNCATED and what it had;
 * an unparsed stream is reported as one COMPARE_F_UNPARSED message: size
 * and digest (equal to body_digest) of its bytes, with the status, method
 * and path of the message that failed as far as they were read (none
 * after a 101). Nothing is parsed after.
 * @return 1 with the message in @p out, or 0.
 */
unsigned int compare_http_close(struct compare_http *p, struct compare_msg *out);

/** Questions plus answers compare_dns_parse() reads in one message at most. */
#define COMPARE_DNS_MAX_RECORDS 64
/** Compression pointers compare_dns_parse() follows per name at most. */
#define COMPARE_DNS_MAX_HOPS 16
/** compare_dns_parse(): more records than COMPARE_DNS_MAX_RECORDS. */
#define COMPARE_DNS_TOO_MANY_RECORDS (-2)
/** compare_dns_parse(): a name past COMPARE_DNS_MAX_HOPS pointers. */
#define COMPARE_DNS_TOO_MANY_HOPS (-3)

/**
 * A DNS message in @p data: its ID, whether it is a response, rcode (into
 * msg->status), the first question's name (msg->path: dotted, lower
 * case, "." for the root, truncated), and a digest of the answer section
 * (msg->body_digest): the sum of a digest per record over its owner name
 * (lower case, decompressed), type, class and data (names in NS, CNAME,
 * PTR, DNAME, MX, SOA and SRV data decompressed and lower-cased), TTLs
 * left out, so record order and compression do not matter. msg->digest
 * covers rcode and body_digest; msg->size is @p len; a response with TC
 * set has COMPARE_F_TRUNCATED.
 * The work is capped (it runs on a worker): a message counting more than
 * COMPARE_DNS_MAX_RECORDS questions and answers, or a name that follows
 * more than COMPARE_DNS_MAX_HOPS compression pointers (a pointer loop
 * among them), is refused with its own code.
 * @return 0; -1 when it is not DNS (header, questions or answers do not
 * fit in @p len, or a name is malformed); COMPARE_DNS_TOO_MANY_RECORDS;
 * COMPARE_DNS_TOO_MANY_HOPS.
 */
int compare_dns_parse(const uint8_t *data, size_t len, uint16_t *id,
		      bool *is_response, struct compare_msg *msg);

/** 64-bit digest of @p len bytes continuing @p h (start with 0). */
uint64_t compare_digest(uint64_t h, const void *data, size_t len);

/** compare_digest() of @p v's 8 bytes, least significant first: how a
 *  message digest chains the digests of its parts. */
uint64_t compare_digest_u64(uint64_t h, uint64_t v);

/* ------------------------------------------------------------------ */
/* Management half (compare_ctl.c).                                     */

/** Bounds of the comparator's memory. */
struct compare_limits {
	uint32_t pending_max;   /**< exchanges waiting for their other side */
	uint32_t endpoints_max; /**< endpoints per profile */
	uint32_t samples_max;   /**< mismatch samples per profile */
	uint32_t heads_max;     /**< answer heads (evidence) kept until their
				     exchange is compared; 0: none */
	uint32_t capture_max;   /**< mismatched exchanges a profile's capture
				     keeps (with evidence); 0: no capture */
	uint32_t capture_bytes; /**< bytes of requests and answers it keeps
				     at most (at least 3 x COMPARE_HEAD_MAX);
				     the oldest exchanges go first */
	uint64_t timeout_us;    /**< a side missing this long: "no answer" */
};

struct compare_ctx;

/** A comparator for up to @p n_profiles profiles. NULL when out of memory. */
struct compare_ctx *compare_create(const struct compare_limits *lim,
				   unsigned int n_profiles);

void compare_free(struct compare_ctx *c);

/**
 * Take one record at @p now_us. When every side the profile has is in
 * (production and shadow, and control when @p with_control), the exchange
 * is compared and counted.
 */
void compare_add(struct compare_ctx *c, const struct compare_record *r,
		 bool with_control, uint64_t now_us);

/** Compare, as "no answer" on the missing side, what waited too long. */
void compare_expire(struct compare_ctx *c, uint64_t now_us);

/** Forget profile @p profile's counts (a profile deleted or replaced). */
void compare_reset(struct compare_ctx *c, unsigned int profile);

/** Latency buckets of struct compare_totals (see compare_lat_value()). */
#define COMPARE_LAT_BUCKETS 56

/** A profile's totals, typed, for those that judge rather than show them. */
struct compare_totals {
	uint64_t compared;              /**< exchanges with production's side in */
	uint64_t matches;               /**< the same answer on both sides */
	uint64_t mismatches;            /**< differences the control does not explain */
	uint64_t noisy;                 /**< differences the control shows too */
	uint64_t errors[COMPARE_SIDES]; /**< 5xx / SERVFAIL answers per side */
	uint64_t no_answer;             /**< the shadow never answered (production did) */
	uint64_t reset;                 /**< one side reset, the other not */
	/** Answer latency per side: counts by bucket, coarser than the
	 *  report's (each a power of two). */
	uint64_t lat[COMPARE_SIDES][COMPARE_LAT_BUCKETS];
};

/** Totals of profile @p profile into @p t. */
void compare_totals(const struct compare_ctx *c, unsigned int profile,
		    struct compare_totals *t);

/** Upper bound, in microseconds, of latency bucket @p i of struct compare_totals. */
uint64_t compare_lat_value(unsigned int i);

/** A mismatched exchange in a profile's capture (pointers into the comparator). */
struct compare_capture {
	uint64_t flow_id;
	uint32_t exchange;
	uint8_t proto;          /**< enum compare_proto */
	uint8_t kinds;          /**< what differed: bits, as listed by compare_kind_name() */
	uint64_t at_us;         /**< when the comparator first saw the exchange
				     (the caller's clock of compare_add()) */
	struct compare_addr addr;
	const uint8_t *request; /**< the request's first bytes */
	uint16_t request_len;
	struct compare_record side[2]; /**< production's, the shadow's record */
	const uint8_t *answer[2];      /**< their answers' first bytes */
	uint16_t answer_len[2];
};

/** What a profile's capture holds and lost. */
struct compare_capture_info {
	uint32_t exchanges;     /**< kept now */
	uint32_t bytes;         /**< of capture_bytes */
	uint64_t kept;          /**< mismatches captured since the profile began */
	uint64_t dropped;       /**< of them dropped, oldest first, for room */
	uint64_t without_evidence; /**< mismatches of flows that carry no
				        evidence (or whose bytes were lost) */
};

/** Capture counts of profile @p profile. */
void compare_capture_info(const struct compare_ctx *c, unsigned int profile,
			  struct compare_capture_info *out);

/**
 * Exchange @p i (0: the oldest) of profile @p profile's capture into
 * @p out; its pointers stay valid until the next compare_add(),
 * compare_expire() or compare_reset(). @return 0, or -1 past the end.
 */
int compare_capture_get(const struct compare_ctx *c, unsigned int profile,
			uint32_t i, struct compare_capture *out);

/** Name of mismatch kind bit @p k ("status", "headers", ...), NULL past the last. */
const char *compare_kind_name(unsigned int k);

/**
 * Report of profile @p profile: totals, per endpoint (compared, matches,
 * mismatches by kind, noise, latency p50/p90/p99/max per side and their
 * difference, error rates), samples, and the comparator's own drops.
 */
json_t *compare_report_json(const struct compare_ctx *c, unsigned int profile);

#endif
