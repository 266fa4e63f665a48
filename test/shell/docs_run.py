#!/usr/bin/env python3
"""Runs the runnable SQL blocks of one Markdown file against a server and compares the results
with what the file shows (the "Runnable docs" convention of docs/testing.md).

A runnable block is a fenced block whose info string is `sql runnable`. Inside it, a statement
whose line ends with `--> VALUE` must print VALUE (psql's unaligned, tuples-only output; for a
void function, nothing), and `--> ERROR 22023` means the statement must fail with that SQLSTATE.
A fenced `text` block right after a runnable block holds what the block's last statement prints
in psql's default (aligned) format. Every other statement must succeed. All blocks of a file run in order
in one psql session, connected through the PG* environment variables.

Usage: docs_run.py FILE.md   (exits 1 when a block fails; prints one line per check)
"""
import re
import subprocess
import sys

MARK = "@@spawn-docs"


def blocks(path):
    """Yields (line number, sql text, expected text or None) for each runnable block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if re.match(r"^```sql\s+runnable\s*$", lines[i]):
            start = i + 1
            i += 1
            body = []
            while i < len(lines) and not re.match(r"^```\s*$", lines[i]):
                body.append(lines[i])
                i += 1
            i += 1
            j = i
            while j < len(lines) and lines[j].strip() == "":
                j += 1
            expected = None
            if j < len(lines) and re.match(r"^```text\s*$", lines[j]):
                j += 1
                out = []
                while j < len(lines) and not re.match(r"^```\s*$", lines[j]):
                    out.append(lines[j])
                    j += 1
                expected = "\n".join(out)
                i = j + 1
            yield start, "\n".join(body), expected
        else:
            i += 1


def statements(sql, first_line):
    """Splits a block into (line, text, expectation, is_sql) units: SQL statements ending with
    `;` or a psql meta-command such as \\gset, and meta-command lines on their own. Quotes,
    dollar quotes and comments are skipped over; `--> X` after a `;` is that statement's
    expectation."""
    units = []
    buf = []
    start = None
    i = 0
    n = len(sql)
    line = first_line

    def has_sql(text):
        stripped = re.sub(r"--[^\n]*", "", text)
        return stripped.strip() != ""

    while i < n:
        c = sql[i]
        if start is None and not c.isspace():
            start = line
        if c == "\n":
            line += 1
            buf.append(c)
            i += 1
        elif c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            buf.append(sql[i:end])
            i = end
        elif c == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += sql.count("\n", i, end)
            buf.append(sql[i:end])
            i = end
        elif c in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == c and sql.startswith(c * 2, end):
                    end += 2
                elif sql[end] == c:
                    break
                else:
                    end += 1
            line += sql.count("\n", i, end + 1)
            buf.append(sql[i : end + 1])
            i = end + 1
        elif c == "$" and re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", sql[i:]):
            tag = re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", sql[i:]).group(0)
            end = sql.find(tag, i + len(tag))
            end = n if end < 0 else end + len(tag)
            line += sql.count("\n", i, end)
            buf.append(sql[i:end])
            i = end
        elif c == "\\":
            end = sql.find("\n", i)
            end = n if end < 0 else end
            text = "".join(buf) + sql[i:end]
            units.append((start or line, text.strip(), None, has_sql("".join(buf))))
            buf, start = [], None
            i = end
        elif c == ";":
            buf.append(c)
            end = sql.find("\n", i)
            end = n if end < 0 else end
            rest = sql[i + 1 : end]
            m = re.match(r"^\s*-->\s?(.*)$", rest)
            units.append((start or line, "".join(buf).strip(), m.group(1).rstrip() if m else None, True))
            buf, start = [], None
            i = i + 1 if m is None else end
        else:
            buf.append(c)
            i += 1
    if has_sql("".join(buf)):
        units.append((start or line, "".join(buf).strip() + ";", None, True))
    return units


def main():
    path = sys.argv[1]
    script = ["\\set ON_ERROR_STOP 0", "\\set SHOW_CONTEXT never", "\\pset tuples_only on",
              "\\pset format unaligned", "\\pset footer on"]
    checks = []  # (line, expectation, is_sql, block index)
    found = list(blocks(path))
    for b, (start, sql, expected) in enumerate(found):
        units = statements(sql, start)
        for k, (line, text, expect, is_sql) in enumerate(units):
            if expected is not None and k == len(units) - 1:
                script += ["\\pset tuples_only off", "\\pset format aligned",
                           "\\echo %s block-last %d" % (MARK, b)]
            script.append(text)
            script.append("\\echo %s %d :SQLSTATE" % (MARK, len(checks)))
            checks.append((line, expect, is_sql, b))
        script.append("\\echo %s block %d" % (MARK, b))
        if expected is not None:
            script += ["\\pset tuples_only on", "\\pset format unaligned"]
    run = subprocess.run(["psql", "-X", "-q", "-f", "-"], input="\n".join(script) + "\n",
                         capture_output=True, text=True)
    segments, block_out, current, block_lines = {}, {}, [], []
    for out_line in run.stdout.split("\n"):
        m = re.match(r"^%s (\d+) (\S*)$" % MARK, out_line)
        b = re.match(r"^%s block (\d+)$" % MARK, out_line)
        if m:
            segments[int(m.group(1))] = ("\n".join(current), m.group(2))
            block_lines += current
            current = []
        elif b:
            block_out[int(b.group(1))] = "\n".join(block_lines)
            block_lines = []
        elif re.match(r"^%s block-last \d+$" % MARK, out_line):
            block_lines, current = [], []
        else:
            current.append(out_line)
    errors = [l for l in run.stderr.split("\n") if l.strip()]
    failed = 0

    def report(ok, what):
        nonlocal failed
        print(("ok - " if ok else "not ok - ") + what)
        failed += 0 if ok else 1

    if not found:
        report(False, "%s: no runnable block" % path)
    for k, (line, expect, is_sql, b) in enumerate(checks):
        where = "%s:%d" % (path, line)
        if k not in segments:
            report(False, "%s: did not run (psql stopped)" % where)
            continue
        output, state = segments[k]
        if expect is not None and expect.startswith("ERROR "):
            report(state == expect[6:].strip(), "%s fails with %s (got %s)" % (where, expect[6:], state))
        elif is_sql and state != "00000":
            report(False, "%s failed with %s" % (where, state))
        elif expect is not None:
            got = output.strip("\n")
            report(got == expect, "%s returns %s%s" % (where, expect, "" if got == expect else " (got %r)" % got))
    for b, (start, _, expected) in enumerate(found):
        if expected is None:
            continue
        got = "\n".join(l.rstrip() for l in block_out.get(b, "").strip("\n").split("\n"))
        want = "\n".join(l.rstrip() for l in expected.strip("\n").split("\n"))
        report(got == want, "%s:%d shows its output" % (path, start))
        if got != want:
            print("  expected:\n    " + want.replace("\n", "\n    "))
            print("  got:\n    " + got.replace("\n", "\n    "))
    if failed:
        print("  psql said:\n    " + "\n    ".join(errors[-30:]))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
