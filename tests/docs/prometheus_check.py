#!/usr/bin/python3
"""The Prometheus kit against the real server:

- conf/prometheus/wsrelay-alerts.yml passes `promtool check rules`, and its
  unit tests (wsrelay-alerts.test.yml) pass `promtool test rules`;
- every wsrelay_*/process_* family the rules and the Grafana dashboard
  (conf/grafana/wsrelay-dashboard.json) use is one a live scrape exports;
- every dashboard query, with Grafana's variables filled in, is valid PromQL
  that returns data from a real Prometheus scraping a real relay (with TLS
  and cluster mode on, so that every family is there).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "support"))
from relay_proc import DEADLINE, free_port, start_relay_every_family, stop, wait_port  # noqa: E402

RULES = os.path.join(SOURCE, "conf", "prometheus", "wsrelay-alerts.yml")
RULE_TESTS = os.path.join(SOURCE, "conf", "prometheus", "wsrelay-alerts.test.yml")
DASHBOARD = os.path.join(SOURCE, "conf", "grafana", "wsrelay-dashboard.json")
# Grafana's variables, as the check fills them in.
VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$instance": ".*"}

failures = []


def tool(name):
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not os.path.exists(path):
        sys.exit(f"FAIL: {name} is missing (.ci/install-deps --test installs prometheus)")
    return path


def promtool(*args):
    r = subprocess.run([tool("promtool"), *args], capture_output=True, text=True)
    print(r.stdout.strip())
    if r.returncode != 0:
        failures.append(f"promtool {' '.join(args)}:\n{r.stdout}{r.stderr}")


def families_used(expr):
    return set(re.findall(r"\b((?:wsrelay|process)_[a-z_]+)\b", expr))


def known(name, families):
    return name in families or re.sub(r"_(bucket|sum|count)$", "", name) in families


def dashboard_queries():
    with open(DASHBOARD, encoding="utf-8") as f:
        board = json.load(f)
    queries = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            queries.append((panel["title"], target["expr"]))
    for var in board["templating"]["list"]:
        q = var.get("query")
        if isinstance(q, dict):
            m = re.fullmatch(r"label_values\((\w+), *(\w+)\)", q["query"])
            if not m:
                failures.append(f"dashboard variable {var['name']}: unexpected query {q['query']}")
            else:
                queries.append((f"variable {var['name']}", f"count by ({m.group(2)}) ({m.group(1)})"))
    return queries


def query(port, expr):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")
        try:
            return json.loads(body)
        except ValueError:  # not up yet: a plain-text 503
            return {"status": "error", "error": f"{e.code} {body.strip()}"}
    except OSError as e:
        return {"status": "error", "error": str(e)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relay", required=True)
    args = ap.parse_args()

    promtool("check", "rules", RULES)
    promtool("test", "rules", RULE_TESTS)

    with tempfile.TemporaryDirectory(prefix="wsrelay-prom-") as tmp:
        relay, _, mport = start_relay_every_family(args.relay, tmp, "prom")
        prom = None
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=30) as r:
                families = set(re.findall(r"^# TYPE (\S+) ", r.read().decode(), re.M))
            with open(f"{tmp}/prometheus.yml", "w", encoding="utf-8") as f:
                f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                        f"rule_files: ['{RULES}']\n"
                        "scrape_configs:\n  - job_name: wsrelay\n"
                        f"    static_configs:\n      - targets: ['127.0.0.1:{mport}']\n")
            pport = free_port()
            with open(f"{tmp}/prometheus.log", "w", encoding="utf-8") as log:
                prom = subprocess.Popen([tool("prometheus"), f"--config.file={tmp}/prometheus.yml",
                                         f"--storage.tsdb.path={tmp}/data",
                                         f"--web.listen-address=127.0.0.1:{pport}"], stdout=log, stderr=log)
            wait_port(pport, prom, "prometheus")
            # Three scrapes at least, so that rate() over 1m has samples.
            end = time.monotonic() + DEADLINE
            while True:
                r = query(pport, 'count_over_time(up{job="wsrelay"}[1m]) >= 3 and up{job="wsrelay"} == 1')
                if r.get("status") == "success" and r["data"]["result"]:
                    break
                if time.monotonic() > end:
                    sys.exit(f"FAIL: Prometheus did not scrape the relay within {DEADLINE} s")
                time.sleep(0.5)
            # Prometheus loaded the rules file too (a broken file fails its start).
            with urllib.request.urlopen(f"http://127.0.0.1:{pport}/api/v1/rules", timeout=30) as r:
                loaded = sum(len(g["rules"]) for g in json.load(r)["data"]["groups"])
            with open(RULES, encoding="utf-8") as f:
                rules_text = f.read()
            if loaded != rules_text.count("- alert:"):
                failures.append(f"Prometheus loaded {loaded} rules, the file has {rules_text.count('- alert:')}")
            for expr in re.findall(r"^\s+expr: (.*)$", rules_text, re.M):
                for name in sorted(families_used(expr)):
                    if not known(name, families):
                        failures.append(f"alert rule uses {name}, which the server does not export: {expr}")
            checked = 0
            for title, expr in dashboard_queries():
                for name in sorted(families_used(expr)):
                    if not known(name, families):
                        failures.append(f"dashboard panel {title!r} uses {name}, which the server does not export")
                filled = expr
                for var, value in VARIABLES.items():
                    filled = filled.replace(var, value)
                if "$" in filled:
                    failures.append(f"dashboard panel {title!r}: a variable the check does not know: {expr}")
                    continue
                r = query(pport, filled)
                if r.get("status") != "success":
                    failures.append(f"dashboard panel {title!r}: Prometheus refuses {filled}: {r.get('error')}")
                elif not r["data"]["result"]:
                    failures.append(f"dashboard panel {title!r}: no data from a live relay for {filled}")
                checked += 1
            print(f"{checked} dashboard queries answered by Prometheus from a live scrape; "
                  f"{loaded} alert rules loaded; {len(families)} families exported")
        finally:
            stop(prom)
            stop(relay)
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
