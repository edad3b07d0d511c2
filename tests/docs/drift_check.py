#!/usr/bin/python3
"""Docs drift check: fails when the documentation and the program disagree.

- Configuration keys: every key `wsrelay --check-config` prints (the schema)
  must be in docs/configuration.md, in the man page wsrelay(8) and in the
  shipped conf/wsrelay.yaml; every key those name must exist.
- Metric families: every family of a live scrape of the real server (with
  TLS and cluster mode on, so that every family is exported) must be in
  docs/metrics.md with each of its labels; every family documented there must
  be exported.
- Close codes and HTTP statuses: every close code (WS_CLOSE_* = NNNN) and
  every status passed to the response functions anywhere under app/ must be
  in docs/codes.md; every code listed there must exist in app/.
- Options: the options of `wsrelay --help` and `wsrelay-client --help` must
  be those of their man pages.

It asks the binaries and greps app/ recursively, so it does not depend on
where source files live. Each failure is one line; all are reported.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "support"))
from relay_proc import start_relay_every_family, stop  # noqa: E402

failures = []


def fail(msg):
    failures.append(msg)


def read(rel):
    with open(os.path.join(SOURCE, rel), encoding="utf-8") as f:
        return f.read()


def unroff(text):
    """Man page source to plain words: '\\-' is '-', font escapes go."""
    text = re.sub(r"\\f[BIRP]", "", text)
    return text.replace("\\-", "-").replace("\\(em", "-")


def flatten(node, prefix=""):
    keys = set()
    for k, v in node.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            keys |= flatten(v, name + ".")
        else:
            keys.add(name)
    return keys


SECTIONS = ("server", "relay", "limits", "metrics", "cluster", "shutdown", "logging")
KEY_RE = re.compile(r"\b(?:%s)\.[a-z0-9_]+(?:\.[a-z0-9_]+)?\b" % "|".join(SECTIONS))


def check_config(relay):
    out = subprocess.run([relay, "--check-config"], capture_output=True, text=True, check=True).stdout
    schema = flatten(yaml.safe_load(out))
    if len(schema) < 10:
        fail(f"--check-config printed only {len(schema)} keys: {sorted(schema)}")
    sections = {k.rsplit(".", 1)[0] for k in schema}

    doc = read("docs/configuration.md")
    table_keys = set(re.findall(r"^\| `([a-z0-9_.]+)` \|", doc, re.M))
    man = unroff(read("conf/wsrelay.8.in"))
    shipped = flatten(yaml.safe_load(read("conf/wsrelay.yaml")))
    for key in sorted(schema):
        if key not in table_keys:
            fail(f"config key {key} is missing from the tables of docs/configuration.md")
        if not re.search(r"(?<![\w.])%s(?![\w])" % re.escape(key), man):
            fail(f"config key {key} is missing from conf/wsrelay.8.in")
        if key not in shipped:
            fail(f"config key {key} is missing from conf/wsrelay.yaml")
    for key in sorted(table_keys - schema):
        fail(f"docs/configuration.md documents {key}, which --check-config does not know")
    for key in sorted(shipped - schema):
        fail(f"conf/wsrelay.yaml sets {key}, which --check-config does not know")
    for where, text in (("docs/configuration.md", doc), ("conf/wsrelay.8.in", man)):
        for key in sorted(set(KEY_RE.findall(text))):
            if key.endswith((".md", ".yaml", ".conf", ".cfg")):
                continue  # a file name, not a key
            if key not in schema and key not in sections:
                fail(f"{where} names {key}, which is neither a key nor a section")
    return len(schema)


def scrape_families(relay):
    """{family: set of label names} from a live scrape of the real server
    with TLS and cluster mode on (the broker need not be up)."""
    with tempfile.TemporaryDirectory(prefix="wsrelay-drift-") as tmp:
        proc, _, mport = start_relay_every_family(relay, tmp, "drift")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=30) as r:
                text = r.read().decode()
        finally:
            stop(proc)
    families = {}
    for name in re.findall(r"^# TYPE (\S+) \S+$", text, re.M):
        families[name] = set()
    for name, labels in re.findall(r"^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? ", text, re.M):
        base = re.sub(r"_(bucket|sum|count)$", "", name) if name not in families else name
        if base in families and labels:
            families[base] |= {l.split("=", 1)[0] for l in re.findall(r'(\w+)="', labels)} - {"le"}
    return families


def check_metrics(relay):
    families = scrape_families(relay)
    if len(families) < 20:
        fail(f"the scrape had only {len(families)} families")
    doc = read("docs/metrics.md")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z_]+)` \|.*$", doc, re.M)}
    for name, labels in sorted(families.items()):
        row = rows.get(name)
        if row is None:
            fail(f"metric family {name} (exported) is missing from docs/metrics.md")
            continue
        for label in sorted(labels):
            if f"`{label}`" not in row:
                fail(f"label {label} of {name} is missing from its row in docs/metrics.md")
    for name in sorted(set(rows) - set(families)):
        fail(f"docs/metrics.md documents {name}, which the server does not export")
    return len(families)


def app_sources():
    for root, _, files in os.walk(os.path.join(SOURCE, "app")):
        for f in files:
            if f.endswith((".c", ".h")):
                with open(os.path.join(root, f), encoding="utf-8") as fh:
                    yield fh.read()


RESPONDERS = r"(?:refuse|send_text|mg_response_header_start|mg_send_http_error|mg_send_http_ok)\("


def check_codes():
    close_codes, statuses = set(), set()
    for text in app_sources():
        close_codes |= {int(c) for c in re.findall(r"\bWS_CLOSE_[A-Z_]+\s*=\s*(\d{4})\b", text)}
        for m in re.finditer(RESPONDERS, text):
            call = text[m.end():text.find(");", m.end())]
            statuses |= {int(s) for s in re.findall(r"(?<![\w\"])([1-5]\d\d)(?![\w\"])", call)}
    doc = read("docs/codes.md")
    close_part, http_part = doc.split("## HTTP statuses", 1)
    doc_close = {int(c) for c in re.findall(r"^\| (1\d\d\d) \|", close_part, re.M)}
    doc_http = {int(c) for c in re.findall(r"^\| ([1-5]\d\d)\b", http_part, re.M)}
    if len(close_codes) < 5 or len(statuses) < 5:
        fail(f"found too few codes in app/ ({sorted(close_codes)}, {sorted(statuses)}): the patterns are stale")
    for c in sorted(close_codes - doc_close):
        fail(f"close code {c} (app/) is missing from the close-code table of docs/codes.md")
    for c in sorted(doc_close - close_codes):
        fail(f"docs/codes.md lists close code {c}, which app/ does not define")
    for s in sorted(statuses - doc_http):
        fail(f"HTTP status {s} (app/) is missing from the status tables of docs/codes.md")
    print(f"close codes in app/: {sorted(close_codes)}; HTTP statuses: {sorted(statuses)}")
    return len(close_codes), len(statuses)


def options(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", text))


def check_help(binary, man_rel):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True)
    helped = options(out.stdout + out.stderr)
    manned = options(unroff(read(man_rel)))
    if not helped:
        fail(f"{os.path.basename(binary)} --help names no option")
    for o in sorted(helped - manned):
        fail(f"{os.path.basename(binary)} --help has {o}, {man_rel} does not")
    for o in sorted(manned - helped):
        fail(f"{man_rel} has {o}, {os.path.basename(binary)} --help does not")
    return len(helped)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relay", required=True)
    ap.add_argument("--client", required=True)
    args = ap.parse_args()
    keys = check_config(args.relay)
    fams = check_metrics(args.relay)
    close, http = check_codes()
    opts = check_help(args.relay, "conf/wsrelay.8.in")
    copts = check_help(args.client, "conf/wsrelay-client.1.in")
    for f in failures:
        print("DRIFT:", f)
    print(f"checked {keys} config keys, {fams} metric families, {close} close codes, {http} HTTP statuses, "
          f"{opts} + {copts} options")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
