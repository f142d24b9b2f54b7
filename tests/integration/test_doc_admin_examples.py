"""doc/admin-api.md's examples, run as written.

Every ```sh block of the page is cut into shell statements, in page order,
and run by one bash (so a variable set by one example is seen by the next)
against a fresh gateway started here from a configuration with nothing but
its Gateway section.  Each statement that calls curl must end with a
`# -> NNN` comment: the status every curl call in it must get.  A doc that
drifts from the gateway (a changed status, an id that no longer exists, an
order that no longer works, an example without its status) fails here.

What is substituted: the admin address 127.0.0.1:9180 and the data-plane
address 127.0.0.1:8080 become the ports of the gateway under test, and the
example backends' ports 9001 and 9002 become two recording backends'.
$SWITCHYARD_ADMIN_TOKEN is the token the gateway was started with; the
page's own `export` line then sets $A and $T."""
import os
import re
import subprocess

import pytest

from syharness.gateway import free_port

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = os.path.join(REPO, "doc", "admin-api.md")
TOKEN = "doc-example-token-0123456789abcdef0123456789"

STATUS = re.compile(r"\s#\s*->\s*(\d{3})\b")
MARK = "@@SYDOC"


def _complete(text):
    """True when `text` is a whole shell statement (bash -n finds no
    unexpected end: quotes, $( ), pipes and backslashes all closed)."""
    if text.rstrip().endswith("\\"):
        return False
    return subprocess.run(["bash", "-n", "-c", text], capture_output=True).returncode == 0


def statements(markdown):
    """[(line number, statement text, expected status or None)] from the
    ```sh blocks, in order.  In a block that shows a prompt (`$ `), only
    prompted lines are commands; the rest is output."""
    out = []
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```sh":
            i += 1
            continue
        j = i + 1
        while lines[j].strip() != "```":
            j += 1
        block = lines[i + 1:j]
        prompted = any(l.startswith("$ ") for l in block)
        k = 0
        while k < len(block):
            line = block[k]
            starts = line.startswith("$ ") if prompted else (
                line.strip() and not line.lstrip().startswith("#"))
            if not starts:
                k += 1
                continue
            first = k
            text = line[2:] if prompted else line
            while not _complete(text):
                k += 1
                assert k < len(block), "unterminated statement at %s:%d" % (DOC, i + 2 + first)
                text += "\n" + block[k]
            last = text.split("\n")[-1]
            m = STATUS.search(last)
            out.append((i + 2 + first, text, int(m.group(1)) if m else None))
            k += 1
        i = j + 1
    return out


def test_every_curl_example_states_its_status():
    with open(DOC) as f:
        sts = statements(f.read())
    assert len(sts) > 30, "the extractor found only %d statements" % len(sts)
    missing = ["%s:%d" % (DOC, ln) for ln, text, want in sts if "curl" in text and want is None]
    assert not missing, "examples without a `# -> STATUS` comment: " + ", ".join(missing)


def test_admin_examples_run_in_order(make_gateway, make_backend, tmp_path):
    blue, green = make_backend("blue"), make_backend("green")
    aport = free_port()
    g = make_gateway({"Gateway": {"AdminListen": "127.0.0.1:%d" % aport, "AdminToken": TOKEN}})
    subst = [("127.0.0.1:9180", "127.0.0.1:%d" % aport),
             ("127.0.0.1:8080", "127.0.0.1:%d" % g.port),
             ('"Port": 9001', '"Port": %d' % blue.port),
             ('"Port": 9002', '"Port": %d' % green.port)]
    with open(DOC) as f:
        sts = statements(f.read())

    # One bash for the whole page; curl reports each status on stderr
    # after the marker of the statement it belongs to.
    script = ["set -u",
              "curl() { command curl -w '%%{stderr}%s status %%{http_code}\\n' \"$@\"; }" % MARK]
    for n, (ln, text, want) in enumerate(sts):
        for a, b in subst:
            text = text.replace(a, b)
        script.append("echo '%s stmt %d' >&2" % (MARK, n))
        script.append(text)
    env = dict(os.environ, SWITCHYARD_ADMIN_TOKEN=TOKEN)
    env.pop("A", None)
    env.pop("T", None)
    p = subprocess.run(["bash", "-c", "\n".join(script)], cwd=str(tmp_path), env=env,
                       capture_output=True, text=True, timeout=50)

    got = {}
    cur = None
    for line in p.stderr.split("\n"):
        if line.startswith(MARK + " stmt "):
            cur = int(line.split()[-1])
            got[cur] = []
        elif line.startswith(MARK + " status ") and cur is not None:
            got[cur].append(int(line.split()[-1]))
    wrong = []
    for n, (ln, text, want) in enumerate(sts):
        if n not in got:
            wrong.append("%s:%d: not run (the script stopped: %s)" % (DOC, ln, p.stderr[-500:]))
            break
        if want is None:
            continue
        if not got[n] or any(s != want for s in got[n]):
            wrong.append("%s:%d: want %d, got %s\n    %s"
                         % (DOC, ln, want, got[n] or "no curl call", text.split("\n")[0]))
    assert not wrong, "doc/admin-api.md examples disagree with the gateway:\n" + \
        "\n".join(wrong) + "\n--- stdout tail:\n" + p.stdout[-3000:]

    # The end-to-end example's last two requests: admin to green, bob to blue.
    assert [r.path for r in green.requests] == ["/orders/1"], green.requests
    assert [r.path for r in blue.requests] == ["/orders/1"], blue.requests
