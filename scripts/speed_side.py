#!/usr/bin/env python3
"""Training speed side by side, in one run on this machine: `host-trainer bench` (one or more
builds, on one thread and on two) and the peers' PyTorch (same thread counts) and Keras
scripts of the same cases, alternating case by case, round by round. Prints medians, the
spread, and the ratios ours/PyTorch at equal thread counts, with the CPU and the commit.

Run through scripts/speed-side.sh, which builds the trainers. The peers' scripts are those of
../shared/peers (see its README for their Python environment). A benchmark: it prints figures
and asserts none.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

# bench --only filter, peer script and its arguments, label
CASES = [
    ("tutorial 1-1-1", ["seed_example.py", "--case", "seed_linear"], "tutorial 1-1-1"),
    ("tutorial 1-16", ["seed_example.py", "--case", "seed_tanh16"], "tutorial 1-16 tanh-1"),
    ("sine", ["sine.py"], "sine 1-16-16-1"),
    ("digits", ["digits.py"], "digits 64-32-10"),
    ("784", ["mlp_big.py"], "784-128-10"),
]


def ours(trainer, digits, only, threads):
    out = subprocess.run(
        [trainer, "bench", "--only", only, "--repeat", "1", "--threads", str(threads), "--digits", digits],
        capture_output=True, text=True, check=True).stdout
    line = [l for l in out.splitlines()[1:] if l.strip()][0]
    return float(re.split(r"\s{2,}", line.strip())[4])


def peer(peers, name, script, threads):
    env = dict(os.environ, PEER_TORCH_THREADS=str(threads))
    p = subprocess.run([sys.executable] + script + ["--peer", name], cwd=peers, env=env,
                       capture_output=True, text=True)
    if p.returncode:
        sys.stderr.write(p.stderr[-2000:])
        raise SystemExit(f"speed_side.py: {script} --peer {name} failed")
    return [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")][0]["samples_per_s"]


def cpu_model():
    """The CPU as /proc/cpuinfo names it, with its x86 family and model (as host-trainer bench)."""
    fields = {}
    for line in open("/proc/cpuinfo"):
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name", "unknown CPU")
    if "cpu family" in fields and "model" in fields:
        return f"{name} (family {fields['cpu family']}, model {fields['model']})"
    return name


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trainer", action="append", required=True, metavar="LABEL=PATH",
                    help="a host-trainer build, e.g. AVX-512=target/release/host-trainer")
    ap.add_argument("--threads", default="2,1", help="thread counts, for ours and PyTorch")
    ap.add_argument("--keras", action="store_true", help="also run Keras (2 threads' figures)")
    ap.add_argument("--cases", default="", help="only the cases whose label contains one of these (comma-separated)")
    ap.add_argument("--peers", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "peers"))
    ap.add_argument("--digits", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", required=True, help="every measurement, one JSON line each")
    a = ap.parse_args()
    trainers = [t.split("=", 1) for t in a.trainer]
    threads = [int(t) for t in a.threads.split(",")]
    wanted = [c for c in a.cases.split(",") if c]
    cases = [c for c in CASES if not wanted or any(w in c[2] for w in wanted)]

    runs = []  # (label, system, samples/s)
    with open(a.out, "w") as out:
        for rnd in range(a.rounds):
            for only, script, label in cases:
                steps = [(f"host-trainer {name} {t}T", lambda p=path, t=t: ours(p, a.digits, only, t))
                         for t in threads for name, path in trainers]
                steps += [(f"PyTorch {t}T", lambda t=t: peer(a.peers, "torch", script, t)) for t in threads]
                if a.keras:
                    steps.append(("Keras", lambda: peer(a.peers, "keras", script, 2)))
                for system, run in steps:
                    started = time.time()
                    sps = run()
                    record = dict(round=rnd, case=label, system=system, samples_per_s=sps,
                                  load=open("/proc/loadavg").read().split()[:3], at=started)
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                    runs.append((label, system, sps))
                    print(f"round {rnd} {label:22s} {system:28s} {sps:>14,.0f}/s", file=sys.stderr, flush=True)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"Samples per second of the training loop; median (min-max) of {a.rounds} alternating rounds; "
          f"{cpu_model()}, {os.cpu_count()} cores; commit {commit}; {time.strftime('%Y-%m-%d')}.")
    systems = list(dict.fromkeys(s for _, s, _ in runs))
    print("| case | " + " | ".join(systems) + " |")
    print("|---|" + "---|" * len(systems))
    medians = {}
    for _, _, label in cases:
        cells = []
        for s in systems:
            v = [x for c, sy, x in runs if c == label and sy == s]
            medians[label, s] = statistics.median(v)
            cells.append(f"{medians[label, s]:,.0f} ({min(v):,.0f}-{max(v):,.0f})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    ratios = [(f"{name} {t}T", f"PyTorch {t}T") for t in threads for name, _ in trainers]
    print("| case | " + " | ".join(f"ours {o} / {t}" for o, t in ratios) + " |")
    print("|---|" + "---|" * len(ratios))
    for _, _, label in cases:
        print(f"| {label} | " + " | ".join(
            f"{medians[label, 'host-trainer ' + o] / medians[label, t]:.1f}" for o, t in ratios) + " |")


if __name__ == "__main__":
    main()
