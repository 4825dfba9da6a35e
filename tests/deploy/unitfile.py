"""Read a systemd unit the way systemd does, for the deploy tests: the
[Service] settings, Environment= and EnvironmentFile= assignments, and the
command lines of ExecStartPre=/ExecStart= with their prefixes stripped and
$VAR (split into words) / ${VAR} (one word) expanded."""
import re
import shlex


def sections(path):
    """{section: [(key, value), ...]} (continuation lines joined)."""
    out, cur, pending = {}, None, ""
    for raw in open(path):
        line = pending + raw.rstrip("\n")
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("[") and s.endswith("]"):
            cur = s[1:-1]
            out.setdefault(cur, [])
            continue
        k, _, v = s.partition("=")
        out[cur].append((k.strip(), v.strip()))
    return out


def parse_env_assignments(text):
    """Environment= value: "A=b c" D=e (quotes around whole assignments)."""
    env = {}
    for word in shlex.split(text):
        k, _, v = word.partition("=")
        env[k] = v
    return env


def read_env_file(path):
    """EnvironmentFile: KEY=VALUE lines, # comments, shell-like quoting."""
    env = {}
    for line in open(path):
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        k, _, v = s.partition("=")
        words = shlex.split(v) if v else [""]
        env[k.strip()] = " ".join(words)
    return env


def expand(cmdline, env):
    """systemd's rules: strip the prefixes (@-:+!), split into words
    (quotes honoured), "$VAR" alone as a word: its value split on
    whitespace; ${VAR}: its value as one word. Returns (prefixes, argv)."""
    m = re.match(r"^([@\-:+!]*)(.*)$", cmdline)
    prefixes, rest = m.group(1), m.group(2)
    argv = []
    for word in shlex.split(rest):
        mv = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if mv:
            argv += env.get(mv.group(1), "").split()
            continue
        argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                           lambda x: env.get(x.group(1), ""), word))
    return prefixes, argv
