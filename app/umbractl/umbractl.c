/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * umbractl: the operator's CLI for umbra's management socket.
 *
 *   umbractl [-s SOCKET] [--json] [--timeout S] COMMAND [WORDS...] [key=value...]
 *
 * Words name the command ("config apply FILE" is config/apply with FILE as
 * its first argument); list-commands tells which arguments a command takes
 * and their types. Human tables by default, --json for scripts.
 * Exit: 0 ok, 1 the command failed, 2 bad usage, 3 no daemon to talk to.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define DEFAULT_SOCKET "/run/umbra/umbra.sock"

enum { EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_NO_DAEMON = 3 };
/** gate: the release is still HOLD (a pipeline may ask again). */
enum { EXIT_HOLD = 3 };

struct conn {
	int fd;
	int timeout_ms;
	char *buf;          /* bytes received, not yet returned */
	size_t len, cap;
	int next_id;
};

static int
conn_open(struct conn *c, const char *path, int timeout_s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	c->timeout_ms = timeout_s * 1000;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "umbractl: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "umbractl: cannot connect to %s: %s; is umbra running?\n",
			path, strerror(errno));
		return -1;
	}
	return 0;
}

/* One response line, however it arrives, within the timeout. */
static char *
conn_readline(struct conn *c)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		char *nl = c->buf ? memchr(c->buf, '\n', c->len) : NULL;
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		long waited;
		ssize_t n;

		if (nl != NULL) {
			size_t l = (size_t)(nl - c->buf);
			char *line = strndup(c->buf, l);

			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return line;
		}
		if (c->len + 4096 > c->cap) {
			c->cap = c->cap ? c->cap * 2 : 65536;
			c->buf = realloc(c->buf, c->cap);
			if (c->buf == NULL)
				return NULL;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - start.tv_sec) * 1000 +
			 (now.tv_nsec - start.tv_nsec) / 1000000;
		if (waited >= c->timeout_ms || poll(&p, 1, (int)(c->timeout_ms - waited)) <= 0) {
			fprintf(stderr, "umbractl: no answer within %d s\n", c->timeout_ms / 1000);
			return NULL;
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n <= 0) {
			fprintf(stderr, "umbractl: umbra closed the connection\n");
			return NULL;
		}
		c->len += (size_t)n;
	}
}

/* Send a request and return the response object (NULL on I/O trouble). */
static json_t *
conn_call(struct conn *c, const char *cmd, json_t *args)
{
	json_t *req = json_pack("{s:i,s:s,s:O}", "id", ++c->next_id, "cmd", cmd, "args", args);
	char *text = json_dumps(req, JSON_COMPACT), *line;
	size_t len = strlen(text), off = 0;
	json_t *resp;

	json_decref(req);
	while (off < len + 1) {
		/* MSG_NOSIGNAL: a daemon that hung up is an error message, not SIGPIPE. */
		ssize_t n = off < len ? send(c->fd, text + off, len - off, MSG_NOSIGNAL) :
				       send(c->fd, "\n", 1, MSG_NOSIGNAL);

		if (n <= 0) {
			fprintf(stderr, "umbractl: cannot send: %s\n", strerror(errno));
			free(text);
			return NULL;
		}
		off += (size_t)n;
	}
	free(text);
	line = conn_readline(c);
	if (line == NULL)
		return NULL;
	resp = json_loads(line, 0, NULL);
	free(line);
	if (resp == NULL)
		fprintf(stderr, "umbractl: umbra sent something that is not JSON\n");
	return resp;
}

/* The command's entry of list-commands, or NULL. */
static json_t *
command_spec(json_t *commands, const char *name)
{
	size_t i;
	json_t *c;

	json_array_foreach(commands, i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			return c;
	return NULL;
}

static json_t *
arg_spec(json_t *spec, const char *name)
{
	size_t i;
	json_t *a;

	json_array_foreach(json_object_get(spec, "args"), i, a)
		if (strcmp(json_string_value(json_object_get(a, "name")), name) == 0)
			return a;
	return NULL;
}

/* "[...]" as JSON, else "a,b,c" as a list of strings. */
static json_t *
array_of_words(const char *word)
{
	json_t *a = json_loads(word, JSON_DECODE_ANY, NULL);
	char *copy, *save = NULL;

	if (json_is_array(a))
		return a;
	json_decref(a);
	a = json_array();
	copy = strdup(word);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(t));
	free(copy);
	return a;
}

/* A word converted to the argument's declared type. */
static json_t *
arg_value(json_t *arg, const char *word)
{
	const char *type = json_string_value(json_object_get(arg, "type"));
	char *end;
	long long v;

	if (strcmp(type, "integer") == 0) {
		errno = 0;
		v = strtoll(word, &end, 10);
		return (*word && !*end && !errno) ? json_integer(v) : NULL;
	}
	if (strcmp(type, "boolean") == 0) {
		if (!strcmp(word, "true") || !strcmp(word, "false"))
			return json_boolean(!strcmp(word, "true"));
		return NULL;
	}
	if (strcmp(type, "array") == 0)
		return array_of_words(word);
	if (strcmp(type, "object") == 0) {
		json_t *o = json_loads(word, JSON_DECODE_ANY, NULL);

		if (json_is_object(o))
			return o;
		json_decref(o);
		return NULL;
	}
	return json_string(word);
}

/* Words after the command name: positional values fill the declared
 * arguments in order; key=value sets one by name. */
static json_t *
build_args(json_t *spec, char **words, int n)
{
	json_t *args = json_object(), *decl = json_object_get(spec, "args");
	size_t next = 0;

	for (int i = 0; i < n; i++) {
		char *eq = strchr(words[i], '=');
		json_t *arg, *v;
		char name[128];

		if (eq != NULL) {
			snprintf(name, sizeof(name), "%.*s", (int)(eq - words[i]), words[i]);
			arg = arg_spec(spec, name);
		} else {
			arg = json_array_get(decl, next++);
		}
		if (arg == NULL) {
			fprintf(stderr, "umbractl: %s takes no argument %s%s\n",
				json_string_value(json_object_get(spec, "name")),
				eq ? "named " : "", eq ? name : words[i]);
			json_decref(args);
			return NULL;
		}
		v = arg_value(arg, eq ? eq + 1 : words[i]);
		if (v == NULL) {
			fprintf(stderr, "umbractl: argument %s must be %s, not '%s'\n",
				json_string_value(json_object_get(arg, "name")),
				json_string_value(json_object_get(arg, "type")),
				eq ? eq + 1 : words[i]);
			json_decref(args);
			return NULL;
		}
		json_object_set_new(args, json_string_value(json_object_get(arg, "name")), v);
	}
	return args;
}

static void
print_scalar(json_t *v)
{
	if (json_is_string(v)) {
		fputs(json_string_value(v), stdout);
	} else {
		char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		fputs(t ? t : "?", stdout);
		free(t);
	}
}

/* A list of objects sharing the first one's keys: a table. */
static int
print_table(json_t *list)
{
	json_t *first = json_array_get(list, 0), *row, *v;
	const char *key;
	size_t i, w[32] = { 0 }, k;

	if (!json_is_object(first) || json_object_size(first) > 32)
		return -1;
	k = 0;
	json_object_foreach(first, key, v)
		w[k++] = strlen(key);
	json_array_foreach(list, i, row) {
		k = 0;
		json_object_foreach(first, key, v) {
			char *t = json_dumps(json_object_get(row, key), JSON_COMPACT | JSON_ENCODE_ANY);
			size_t l = json_is_string(json_object_get(row, key)) ?
				   strlen(json_string_value(json_object_get(row, key))) :
				   (t ? strlen(t) : 1);

			free(t);
			w[k] = l > w[k] ? l : w[k];
			k++;
		}
	}
	k = 0;
	json_object_foreach(first, key, v)
		printf("%-*s  ", (int)w[k++], key);
	putchar('\n');
	json_array_foreach(list, i, row) {
		k = 0;
		json_object_foreach(first, key, v) {
			json_t *cell = json_object_get(row, key);
			char *t = json_is_string(cell) ? strdup(json_string_value(cell)) :
				  json_dumps(cell, JSON_COMPACT | JSON_ENCODE_ANY);

			printf("%-*s  ", (int)w[k++], t ? t : "");
			free(t);
		}
		putchar('\n');
	}
	return 0;
}

static void
print_human(json_t *v, int indent)
{
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_array(v) && json_array_size(v) > 0 && indent == 0 && print_table(v) == 0)
		return;
	if (json_is_object(v)) {
		json_object_foreach(v, key, x) {
			printf("%*s%s:", indent, "", key);
			if (json_is_object(x) || (json_is_array(x) && json_is_object(json_array_get(x, 0)))) {
				putchar('\n');
				print_human(x, indent + 2);
			} else if (json_is_string(x) && strchr(json_string_value(x), '\n')) {
				printf("\n%s", json_string_value(x));
			} else {
				putchar(' ');
				print_scalar(x);
				putchar('\n');
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			printf("%*s- ", indent, "");
			if (json_is_object(x)) {
				putchar('\n');
				print_human(x, indent + 4);
			} else {
				print_scalar(x);
				putchar('\n');
			}
		}
	} else {
		print_scalar(v);
		putchar('\n');
	}
}

/*
 * umbractl gate SERVICE VERSION [--wait SECONDS]: a release pipeline's gate.
 * Exit 0 on GO, 1 on ROLLBACK or no-go, 3 while still HOLD (at the end of
 * the wait). It polls verdict/gate: the daemon never holds a command.
 */
static int
gate_main(struct conn *c, int argc, char **argv, int json_out)
{
	double wait_s = 0, waited = 0;
	json_t *reply = NULL, *res = NULL;
	const char *gate = "hold";

	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--wait") == 0)) {
		fprintf(stderr, "usage: umbractl gate SERVICE VERSION [--wait SECONDS]\n");
		return EXIT_USAGE;
	}
	if (argc == 4 && ((wait_s = atof(argv[3])) <= 0 || wait_s > 86400)) {
		fprintf(stderr, "umbractl: --wait takes seconds, 0 to 86400\n");
		return EXIT_USAGE;
	}
	for (;;) {
		json_t *args = json_pack("{s:s,s:s}", "service", argv[0], "version", argv[1]);

		json_decref(reply);
		reply = conn_call(c, "verdict/gate", args);
		json_decref(args);
		if (reply == NULL)
			return EXIT_FAILED;
		if ((res = json_object_get(reply, "result")) == NULL) {
			json_t *err = json_object_get(reply, "error");

			fprintf(stderr, "umbractl: %s\n",
				json_string_value(json_object_get(err, "message")));
			json_decref(reply);
			return EXIT_FAILED;
		}
		gate = json_string_value(json_object_get(res, "gate"));
		if (gate == NULL || strcmp(gate, "hold") != 0 || waited >= wait_s)
			break;
		usleep(200000);
		waited += 0.2;
	}
	if (json_out) {
		json_dumpf(res, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		printf("%s %s: %s: %s\n", argv[0], argv[1], gate ? gate : "?",
		       json_string_value(json_object_get(res, "reason")));
	}
	int rc = gate && strcmp(gate, "go") == 0 ? 0 :
		 gate && strcmp(gate, "hold") == 0 ? EXIT_HOLD :
		 EXIT_FAILED;

	json_decref(reply);
	return rc;
}

/* Standard base64 @p in into @p out (room for 3/4 of its length); -1 if not base64. */
static long
base64_decode(const char *in, uint8_t *out)
{
	uint32_t v = 0;
	long n = 0;
	int bits = 0;

	for (; *in != '\0' && *in != '='; in++) {
		const char *d = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789+/", *in);

		if (d == NULL)
			return -1;
		v = v << 6 | (uint32_t)(d - "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789+/");
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(v >> bits);
		}
	}
	return n;
}

/* The file @p b64 decodes to, written to @p path ("-": stdout). */
static int
write_decoded(const char *b64, const char *path, long *size)
{
	uint8_t *buf = malloc(strlen(b64) / 4 * 3 + 3);
	FILE *f;
	int rc = -1;

	if (buf == NULL || (*size = base64_decode(b64, buf)) < 0) {
		free(buf);
		return -1;
	}
	f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
	if (f != NULL && fwrite(buf, 1, (size_t)*size, f) == (size_t)*size)
		rc = 0;
	if (f != NULL && f != stdout && fclose(f) != 0)
		rc = -1;
	free(buf);
	return rc;
}

/*
 * umbractl shadow capture PROFILE [-o FILE]: the profile's mismatched
 * exchanges as a pcapng file (default PROFILE.pcapng; "-": stdout).
 */
static int
capture_main(struct conn *c, int argc, char **argv, int json_out)
{
	const char *profile = NULL, *out = NULL;
	char def[300];
	json_t *args, *reply, *res;
	long size;

	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) &&
		    i + 1 < argc)
			out = argv[++i];
		else if (strncmp(argv[i], "profile=", 8) == 0 && profile == NULL)
			profile = argv[i] + 8;
		else if (argv[i][0] != '-' && profile == NULL)
			profile = argv[i];
		else
			profile = "";
	}
	if (profile == NULL || profile[0] == '\0') {
		fprintf(stderr, "usage: umbractl shadow capture PROFILE [-o FILE.pcapng]\n");
		return EXIT_USAGE;
	}
	if (out == NULL) {
		snprintf(def, sizeof(def), "%s.pcapng", profile);
		out = def;
	}
	args = json_pack("{s:s}", "profile", profile);
	reply = conn_call(c, "shadow/capture", args);
	json_decref(args);
	res = json_object_get(reply, "result");
	if (res == NULL) {
		fprintf(stderr, "umbractl: %s\n", reply ? json_string_value(json_object_get(
			json_object_get(reply, "error"), "message")) : "no answer");
		json_decref(reply);
		return EXIT_FAILED;
	}
	if (write_decoded(json_string_value(json_object_get(res, "pcapng_base64")) ?: "!",
			  out, &size) < 0) {
		fprintf(stderr, "umbractl: cannot write %s: %s\n", out, strerror(errno));
		json_decref(reply);
		return EXIT_FAILED;
	}
	json_object_del(res, "pcapng_base64");
	json_object_set_new(res, "file", json_string(out));
	if (json_out) {
		json_dumpf(res, strcmp(out, "-") ? stdout : stderr, JSON_INDENT(2));
		fputc('\n', strcmp(out, "-") ? stdout : stderr);
	} else {
		fprintf(strcmp(out, "-") ? stdout : stderr,
			"%s: %lld mismatched exchanges (%lld dropped for room, %lld without "
			"evidence), %lld packets, %ld bytes of pcapng -> %s\n", profile,
			json_integer_value(json_object_get(res, "exchanges")),
			json_integer_value(json_object_get(res, "dropped")),
			json_integer_value(json_object_get(res, "without_evidence")),
			json_integer_value(json_object_get(res, "packets")), size, out);
	}
	json_decref(reply);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: umbractl [-s SOCKET] [--json] [--timeout S] COMMAND [WORDS...] [key=value...]\n"
		"  -s, --socket PATH  umbra's socket (default $UMBRA_SOCKET or " DEFAULT_SOCKET ")\n"
		"      --json         print the raw JSON result\n"
		"      --timeout S    give up after S seconds (default 10)\n"
		"examples: umbractl status; umbractl config apply new.yaml;\n"
		"          umbractl flows top=5 stage=production; umbractl list-commands\n"
		"gate:     umbractl gate SERVICE VERSION [--wait SECONDS]: exit 0 GO,\n"
		"          1 ROLLBACK or no-go, 3 still HOLD\n"
		"capture:  umbractl shadow capture PROFILE [-o FILE.pcapng]: the shadow\n"
		"          profile's mismatched exchanges, for Wireshark\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = getenv("UMBRA_SOCKET") ? getenv("UMBRA_SOCKET") : DEFAULT_SOCKET;
	int json_out = 0, timeout = 10, opt, words, rc = 0;
	json_t *commands, *spec = NULL, *args, *resp, *err;
	struct conn c;

	signal(SIGPIPE, SIG_IGN); /* output into a closed pipe, too: an error */
	char name[128];

	while ((opt = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': path = optarg; break;
		case 'j': json_out = 1; break;
		case 't': timeout = atoi(optarg) > 0 ? atoi(optarg) : 10; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (conn_open(&c, path, timeout) < 0)
		return EXIT_NO_DAEMON;
	resp = conn_call(&c, "list-commands", json_object());
	commands = json_object_get(resp, "result");
	if (commands == NULL) {
		fprintf(stderr, "umbractl: umbra did not list its commands\n");
		return EXIT_FAILED;
	}
	if (strcmp(argv[optind], "gate") == 0) {
		rc = gate_main(&c, argc - optind - 1, argv + optind + 1, json_out);
		json_decref(resp);
		close(c.fd);
		free(c.buf);
		return rc;
	}
	if (strcmp(argv[optind], "shadow") == 0 && optind + 1 < argc &&
	    strcmp(argv[optind + 1], "capture") == 0) {
		rc = capture_main(&c, argc - optind - 2, argv + optind + 2, json_out);
		json_decref(resp);
		close(c.fd);
		free(c.buf);
		return rc;
	}
	/* "config apply x": config/apply when that exists, else "config". */
	words = 1;
	if (optind + 1 < argc && !strchr(argv[optind + 1], '=')) {
		snprintf(name, sizeof(name), "%s/%s", argv[optind], argv[optind + 1]);
		if ((spec = command_spec(commands, name)) != NULL)
			words = 2;
	}
	if (spec == NULL) {
		snprintf(name, sizeof(name), "%s", argv[optind]);
		spec = command_spec(commands, name);
	}
	if (spec == NULL) {
		fprintf(stderr, "umbractl: no command '%s' (umbractl list-commands)\n", argv[optind]);
		return EXIT_USAGE;
	}
	args = build_args(spec, argv + optind + words, argc - optind - words);
	if (args == NULL)
		return EXIT_USAGE;
	json_t *reply = conn_call(&c, name, args);

	json_decref(args);
	if (reply == NULL)
		return EXIT_FAILED;
	err = json_object_get(reply, "error");
	if (err != NULL) {
		fprintf(stderr, "umbractl: %s: %s\n", json_string_value(json_object_get(err, "code")),
			json_string_value(json_object_get(err, "message")));
		rc = json_string_value(json_object_get(err, "code")) &&
		     strcmp(json_string_value(json_object_get(err, "code")), "invalid_args") == 0 ?
		     EXIT_USAGE : EXIT_FAILED;
	} else if (json_out) {
		json_dumpf(json_object_get(reply, "result"), stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
		putchar('\n');
	} else {
		print_human(json_object_get(reply, "result"), 0);
	}
	json_decref(reply);
	json_decref(resp);
	close(c.fd);
	free(c.buf);
	return rc;
}
