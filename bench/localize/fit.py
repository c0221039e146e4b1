#!/usr/bin/env python3
"""Fits the localizer's second stage (src/solution/localize/rescore.rs, `WEIGHTS`).

Input: `globallm localize --features` answers (top 200, JSON) for the SWE-bench Verified
development set (written by `FEATURES=DIR bench/localize/swebench.sh`) and for the 79-issue
bench (written by this script with `--dump79 BIN SRC DIR`). The model is linear over each
file's features; it is fitted as a softmax over each task's first DEPTH files of the first
stage with the files the fix changed as targets (L2-regularized, L-BFGS; the weights of the
structural signals kept at 0 or above, so none counts less than the first stage gives it),
and checked by
leaving one repository out: every repository is ranked by weights fitted without it. Prints
the hand-made ranking, the cross-validated one and the one fitted on everything, per
repository, then the weights as Rust.

Needs numpy and scipy (`pip install numpy scipy`).

  python3 bench/localize/fit.py --dump79 target/release/globallm /tmp/globallm-localize-eval/src F79
  python3 bench/localize/fit.py --dev DEV_FEATURES --bench79 F79 [--l2 0.01] [--free hub,neighbours] [--loss worst]

With --free, only the named weights are fitted and the others stay as rescore.rs has them: how
a new signal is added without re-fitting (and moving) the rest.
"""
import argparse, glob, json, math, os, re, subprocess, sys
from collections import defaultdict

DEPTH = 100  # rescore::DEPTH
# (name in WEIGHTS, value from a candidate's features)
FEATURES = [
    ("lexical", lambda f: f["lexical"]),
    ("window", lambda f: f["window"]),
    ("frame", lambda f: f["frame"]),
    ("path_mention", lambda f: f["path_mention"]),
    ("message", lambda f: f["message"]),
    ("literal", lambda f: f["literal"]),
    ("reexport", lambda f: f["reexport"]),
    ("member", lambda f: f["member"]),
    ("module", lambda f: f["module"]),
    ("defines", lambda f: f["defines"]),
    ("mentions", lambda f: f["mentions"]),
    ("is_test", lambda f: f["is_test"]),
    ("non_code", lambda f: f["non_code"]),
    ("minority", lambda f: f["minority"]),
    ("test_about", lambda f: f["is_test"] * f["about_tests"]),
    ("length", lambda f: math.log1p(f["length"]) / 10),
    ("first", lambda f: f["first"]),
    ("name", lambda f: f["name"]),
    ("index", lambda f: f["index"]),
    ("imported", lambda f: f["imported"]),
    ("title", lambda f: f["title"]),
    ("hub", lambda f: f.get("hub", 0.0)),
    ("neighbours", lambda f: f.get("neighbours", 0.0)),
    ("cited", lambda f: f.get("cited", 0.0)),
    ("titled", lambda f: f.get("titled", 0.0)),
    ("title_type", lambda f: f.get("title_type", 0.0)),
    ("title_class", lambda f: f.get("title_class", 0.0)),
    ("subjects", lambda f: f.get("subjects", 0.0)),
    ("used", lambda f: f.get("used", 0.0)),
]

AT_LEAST_FIRST = {"frame", "path_mention", "message", "literal", "reexport", "member", "module",
                  "defines", "mentions"}


def task(np, tid, repo, gold, candidates, any_gold=False):
    X = np.array([[get(c["features"]) for _, get in FEATURES] for c in candidates])
    return dict(id=tid, repo=repo, gold=set(gold), any=any_gold,
                paths=[c["path"] for c in candidates], X=X.reshape(-1, len(FEATURES)))


def instances(path):
    """The development set's tasks (a JSON list, or an object holding it under `instances`)."""
    data = json.load(open(path))
    return data if isinstance(data, list) else data["instances"]


def gold_files(patch):
    """The files a task's gold patch changes."""
    return re.findall(r"^diff --git a/(\S+)", patch, re.M)


def load_dev(np, features_dirs, instances_path):
    """The tasks with an answer in one of `features_dirs` (the first that has one), each with
    `dump`, the answer's path."""
    tasks = []
    for x in instances(instances_path):
        found = [os.path.join(d, x["instance_id"] + ".json") for d in features_dirs]
        path = next((p for p in found if os.path.exists(p) and os.path.getsize(p) > 0), None)
        if path is None:
            continue
        gold = gold_files(x.get("patch") or x.get("golden_patch"))
        tasks.append(task(np, x["instance_id"], x["repo"], gold, json.load(open(path))["candidates"]))
        tasks[-1]["dump"] = path
    return tasks


def load79(np, features_dir):
    tasks = []
    for path in sorted(glob.glob(os.path.join(features_dir, "[0-9]*.json"))):
        r = json.load(open(path))
        # The 79-issue bench counts an issue found when any expected file is.
        tasks.append(task(np, "b79-" + os.path.basename(path), "bench79:" + r["repo"], r["gold"],
                          r["candidates"], any_gold=True))
    return tasks


def dump79(binary, src, out):
    issues = json.load(open(os.path.join(os.path.dirname(__file__), "issues.json")))
    os.makedirs(out, exist_ok=True)
    issue_file = os.path.join(out, "issue.json")
    for i, issue in enumerate(issues):
        json.dump({"title": issue["title"], "body": issue["body"]}, open(issue_file, "w"))
        answer = subprocess.run(
            [binary, "localize", "--repo-path", os.path.join(src, issue["repo"]), "--issue-file",
             issue_file, "--top", "200", "--json", "--features"],
            capture_output=True, text=True, check=True).stdout
        r = json.loads(answer)
        r["gold"], r["repo"] = issue["expected"], issue["repo"]
        json.dump(r, open(os.path.join(out, f"{i}.json"), "w"))
    os.remove(issue_file)


def order(t, w):
    """The ranking the Rust code gives: the first DEPTH files by the model, then the rest."""
    n = len(t["paths"])
    if w is None:
        return list(range(n))
    d = min(DEPTH, n)
    s = t["X"][:d] @ w
    return sorted(range(d), key=lambda i: (-s[i], t["paths"][i])) + list(range(d, n))


def metrics(tasks, weights_of):
    """recall@1/5/10 (all gold files within k; any for the 79-issue bench) and MRR."""
    sums = [0.0] * 4
    for t in tasks:
        ranked = [t["paths"][i] for i in order(t, weights_of(t))]
        ranks = [ranked.index(g) + 1 if g in ranked else math.inf for g in t["gold"]]
        need = min(ranks) if t["any"] else max(ranks)
        sums[0] += need <= 1
        sums[1] += need <= 5
        sums[2] += need <= 10
        sums[3] += 0 if min(ranks) == math.inf else 1 / min(ranks)
    return [s / max(1, len(tasks)) for s in sums]


def shipped_weights():
    """The weights in rescore.rs, by name (0 for a feature it does not weigh yet)."""
    rust = open(os.path.join(os.path.dirname(__file__), "../../src/solution/localize/rescore.rs")).read()
    block = rust[rust.index("const WEIGHTS: Weights = Weights {"):]
    block = block[:block.index("};")]
    return {m[0]: float(m[1]) for m in re.findall(r"^\s+(\w+): (-?[\d.]+),", block, re.M)}


def fit(np, minimize, tasks, l2, hold=None, loss_kind="softmax"):
    """The weights; with `hold` (name to weight), those stay as given and the rest are fitted.

    `loss_kind`: "softmax" (each gold file's log-probability among the task's files, the
    task's gold files averaged: the shipped fit); "negatives" (each gold file against the
    non-gold files only, so a task's gold files do not compete); "worst" (as "negatives", the
    gold files weighed by a soft maximum of their losses: recall@k needs every one)."""
    def softmax_nll(X, s, g, among):
        """-log p(g) among the rows `among`, and its gradient."""
        top = s[among].max()
        e = np.exp(s[among] - top)
        p = e / e.sum()
        return -(s[g] - top - math.log(e.sum())), -(X[g] - p @ X[among])

    def loss(w):
        total, grad = 0.0, np.zeros_like(w)
        for t in tasks:
            d = min(DEPTH, len(t["paths"]))
            gold = [i for i in range(d) if t["paths"][i] in t["gold"]]
            if not gold:
                continue
            X = t["X"][:d]
            s = X @ w
            if loss_kind == "softmax":
                terms = [softmax_nll(X, s, g, np.arange(d)) for g in gold]
            else:
                others = np.array([i for i in range(d) if i not in gold], dtype=int)
                terms = [softmax_nll(X, s, g, np.append(others, g)) for g in gold]
            values = np.array([v for v, _ in terms])
            if loss_kind == "worst":
                share = np.exp(values - values.max())
                share /= share.sum()
            else:
                share = np.full(len(terms), 1 / len(terms))
            total += float(share @ values)
            grad += sum(a * g for a, (_, g) in zip(share, terms))
        return total + l2 * (w @ w), grad + 2 * l2 * w

    # A structural signal may count for more than the first stage gives it through `first`,
    # never for less: the cue that names the file is not traded for word overlap.
    bounds = [(0, None) if name in AT_LEAST_FIRST else (None, None) for name, _ in FEATURES]
    start = np.zeros(len(FEATURES))
    for k, (name, _) in enumerate(FEATURES):
        if hold and name in hold:
            bounds[k] = (hold[name], hold[name])
            start[k] = hold[name]
    return minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds).x


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump79", nargs=3, metavar=("BIN", "SRC", "OUT"))
    ap.add_argument("--dev", metavar="DIR", action="append",
                    help="a directory of --features answers (swebench.sh's, release_trees.py's); repeatable")
    ap.add_argument("--bench79", metavar="DIR")
    ap.add_argument("--instances", default=os.path.join(os.path.dirname(__file__),
                                                        "../../../shared/data/swebench/verified-dev.json"))
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--loss", choices=["softmax", "negatives", "worst"], default="softmax",
                    help="the fit's loss (see fit()); the shipped weights are the softmax's")
    ap.add_argument("--free", metavar="NAMES",
                    help="fit only these weights (comma-separated), the others held as rescore.rs has them")
    a = ap.parse_args()
    if a.dump79:
        dump79(*a.dump79)
        return
    if not a.dev:
        ap.error("--dev or --dump79")
    import numpy as np
    from scipy.optimize import minimize

    dev = load_dev(np, a.dev, a.instances)
    b79 = load79(np, a.bench79) if a.bench79 else []
    every = dev + b79
    hold = None
    if a.free:
        free = a.free.split(",")
        unknown = [n for n in free if n not in dict(FEATURES)]
        if unknown:
            ap.error(f"no such features: {unknown}")
        hold = {name: w for name, w in shipped_weights().items() if name not in free}
        hold.update({name: 0.0 for name, _ in FEATURES if name not in free and name not in hold})
    held_out = {}
    for repo in sorted({t["repo"] for t in every}):
        w = fit(np, minimize, [t for t in every if t["repo"] != repo], a.l2, hold, a.loss)
        for t in every:
            if t["repo"] == repo:
                held_out[t["id"]] = w
    w_all = fit(np, minimize, every, a.l2, hold, a.loss)

    def row(name, tasks):
        cur = metrics(tasks, lambda t: None)
        cv = metrics(tasks, lambda t: held_out[t["id"]])
        fitted = metrics(tasks, lambda t: w_all)
        fmt = lambda m: " / ".join(f"{x:.3f}" for x in m)
        print(f"| {name} | {len(tasks)} | {fmt(cur)} | {fmt(cv)} | {fmt(fitted)} |")

    print("recall@1 / @5 / @10 / MRR; cross-validated = ranked by weights fitted without the repository\n")
    print("| tasks | n | as dumped (the binary's ranking) | second stage, cross-validated | second stage, fitted on all |")
    print("| --- | ---: | --- | --- | --- |")
    row("**development set**", dev)
    by_repo = defaultdict(list)
    for t in dev:
        by_repo[t["repo"]].append(t)
    for repo, tasks in sorted(by_repo.items(), key=lambda kv: -len(kv[1])):
        row(repo, tasks)
    row("one gold file", [t for t in dev if len(t["gold"]) == 1])
    row("several gold files", [t for t in dev if len(t["gold"]) > 1])
    if b79:
        row("**79-issue bench**", b79)
    print("\nconst WEIGHTS: Weights = Weights {")
    for (name, _), x in zip(FEATURES, w_all):
        print(f"    {name}: {x:.3f},")
    print("};")


if __name__ == "__main__":
    sys.exit(main())
