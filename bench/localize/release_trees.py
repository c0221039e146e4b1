#!/usr/bin/env python3
"""Measures `globallm localize` on the development set's django, scikit-learn and matplotlib
tasks, which swebench.sh cannot: their git snapshots are larger than `fetch` brings here.

Each task is ranked against a *release tree* instead of its base commit: the source
distributions of the projects' feature releases, downloaded from PyPI (a package registry, so
reachable here), unpacked without what a git checkout does not hold (`*.egg-info`, `PKG-INFO`,
C files Cython generated beside their `.pyx`, built documentation). A task's tree is the newest
release its gold patch applies to (`git apply --check`): the last release before the fix, the
nearest thing to its base commit a registry has. Tasks whose patch applies to no release are
left out and counted. The trees have no history, so the signals read from git (the subjects
of past commits, the issues a report cites) are 0, as on the 79-issue bench. Each tree's index
is kept (`--index-cache`), so the seconds per task are mostly a second issue's in a tree.

These figures are an approximation of the base commits' (a release tree differs from the
development branch the fix was written on by weeks to months of commits) and these three
repositories were never used to fit the ranking's weights: an out-of-sample check of it.

  python3 bench/localize/release_trees.py BIN WORK [--features DIR] [--repo django/django]

WORK keeps the downloads, the trees and the choice of tree per task (rerunning reads them);
--features writes each task's `--features` answer to DIR for fit.py and emulate.py (their
`--dev` takes several directories), and as `DIR/trees` links named as swebench.sh's checkouts
(owner__name/COMMIT) for emulate.py's `--trees`.
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tarfile, tempfile, time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fit import gold_files  # noqa: E402
# The feature releases whose development covers the development set's tasks.
RELEASES = {
    # Django's first alphas are its main branch at the feature freeze, months from the finals.
    "django/django": ("Django", ["2.0", "2.1", "2.2a1", "2.2", "3.0a1", "3.0", "3.1a1", "3.1", "3.2a1",
                                 "3.2", "4.0a1", "4.0", "4.1a1", "4.1", "4.2a1", "4.2", "5.0a1", "5.0"]),
    "scikit-learn/scikit-learn": ("scikit-learn", ["0.20.0", "0.21.1", "0.22", "0.23.0", "0.24.0",
                                                   "1.0", "1.1.0", "1.2.0", "1.3.0"]),
    "matplotlib/matplotlib": ("matplotlib", ["3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0", "3.5.0",
                                             "3.6.0", "3.7.0", "3.8.0"]),
}
# Built documentation some source distributions carry (scikit-learn 0.20's is 110 MB).
BUILT_DOCS = ["doc/_build", "doc/auto_examples", "doc/modules/generated"]


def version_key(v):
    """`3.0a1` < `3.0b1` < `3.0rc1` < `3.0` < `3.0.1`."""
    numbers, pre, n = re.fullmatch(r"([\d.]+?)(?:(a|b|rc)(\d+))?", v).groups()
    return [int(x) for x in numbers.split(".")], ["a", "b", "rc", None].index(pre), int(n or 0)


def download(project, version, into):
    """The release's source distribution from PyPI's simple index."""
    name = f"{project}-{version}.tar.gz"
    path = os.path.join(into, name)
    if os.path.exists(path):
        return path
    page = urllib.request.urlopen(f"https://pypi.org/simple/{project.lower()}/", timeout=60).read().decode()
    links = [url for url in re.findall(r'href="([^"#]+)', page) if url.rsplit("/", 1)[-1].lower() == name.lower()]
    if not links:
        sys.exit(f"PyPI lists no {name}")
    with urllib.request.urlopen(links[0], timeout=300) as answer, open(path + ".part", "wb") as out:
        shutil.copyfileobj(answer, out)
    os.rename(path + ".part", path)
    return path


def unpack(archive, tree):
    """The tree as a checkout would have it: without packaging metadata, Cython's generated C
    and built documentation."""
    if os.path.isdir(tree):
        return
    part = tree + ".part"
    shutil.rmtree(part, ignore_errors=True)
    os.makedirs(part)
    with tarfile.open(archive) as tar:
        top = tar.getmembers()[0].name.split("/")[0]
        tar.extractall(part, filter="data")
    root = os.path.join(part, top)
    for built in BUILT_DOCS:
        shutil.rmtree(os.path.join(root, built), ignore_errors=True)
    for dirpath, dirnames, filenames in os.walk(root):
        for d in [d for d in dirnames if d.endswith(".egg-info")]:
            shutil.rmtree(os.path.join(dirpath, d))
            dirnames.remove(d)
        names = set(filenames)
        for f in filenames:
            stem, ext = os.path.splitext(f)
            if f == "PKG-INFO" or (ext in (".c", ".cpp") and stem + ".pyx" in names):
                os.remove(os.path.join(dirpath, f))
    os.rename(root, tree)
    shutil.rmtree(part)


def pick(tasks, trees, work):
    """Per task, the newest release tree its gold patch applies to (None: none does). Kept in
    WORK per repository, with the releases chosen among: a choice stands while they do."""
    path = os.path.join(work, "picked.json")
    kept = json.load(open(path)) if os.path.exists(path) else {}
    for repo, releases in trees.items():
        versions = [v for v, _ in releases]
        if kept.get(repo, {}).get("releases") != versions:
            kept[repo] = {"releases": versions, "picked": {}}
    for x in tasks:
        picked = kept[x["repo"]]["picked"]
        if x["instance_id"] in picked:
            continue
        with tempfile.NamedTemporaryFile("w", suffix=".diff", delete=False) as f:
            f.write(x["golden_patch"])
        applies = [v for v, tree in trees[x["repo"]]
                   if subprocess.run(["git", "apply", "--check", f.name], cwd=tree,
                                     capture_output=True).returncode == 0]
        os.unlink(f.name)
        picked[x["instance_id"]] = applies[-1] if applies else None
    json.dump(kept, open(path, "w"), indent=1, sort_keys=True)
    return {task: v for repo in trees for task, v in kept[repo]["picked"].items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("work")
    ap.add_argument("--features", metavar="DIR")
    ap.add_argument("--repo", action="append", choices=sorted(RELEASES))
    ap.add_argument("--instances", default=os.path.join(HERE, "../../../shared/data/swebench/verified-dev.json"))
    a = ap.parse_args()
    work = os.path.abspath(a.work)
    os.makedirs(work, exist_ok=True)
    # Inside a git work tree, `git apply --check` would take the patch's paths from its top.
    if subprocess.run(["git", "-C", work, "rev-parse", "--is-inside-work-tree"], capture_output=True).returncode == 0:
        sys.exit(f"{work} is inside a git work tree: give a WORK outside it (and outside this project)")
    repos = a.repo or sorted(RELEASES)
    os.makedirs(os.path.join(work, "downloads"), exist_ok=True)
    trees = {}
    for repo in repos:
        project, versions = RELEASES[repo]
        trees[repo] = []
        for v in sorted(versions, key=version_key):
            tree = os.path.join(work, "trees", repo.replace("/", "__"), v)
            os.makedirs(os.path.dirname(tree), exist_ok=True)
            unpack(download(project, v, os.path.join(work, "downloads")), tree)
            trees[repo].append((v, tree))
    tasks = [x for x in json.load(open(a.instances)) if x["repo"] in repos]
    picked = pick(tasks, trees, work)
    tree_of = {repo: dict(ts) for repo, ts in trees.items()}
    if a.features:
        os.makedirs(os.path.join(a.features, "trees"), exist_ok=True)

    results, seconds, unusable = [], [], {}
    env = {**os.environ, "XDG_DATA_HOME": os.path.join(work, "data"), "XDG_CONFIG_HOME": os.path.join(work, "config")}
    for x in tasks:
        version = picked[x["instance_id"]]
        if version is None:
            unusable[x["repo"]] = unusable.get(x["repo"], 0) + 1
            continue
        tree = tree_of[x["repo"]][version]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write(x["problem_statement"])
        start = time.monotonic()
        answer = subprocess.run(
            [a.binary, "localize", "--repo-path", tree, "--issue-file", f.name, "--top", "200",
             "--json", "--index-cache", os.path.join(work, "cache"),
             *(["--features"] if a.features else [])],
            capture_output=True, text=True, env=env)
        seconds.append(time.monotonic() - start)
        os.unlink(f.name)
        if answer.returncode != 0:
            sys.exit(f"{x['instance_id']}: the localizer failed:\n{answer.stderr[-2000:]}")
        ranked = [c["path"] for c in json.loads(answer.stdout)["candidates"]]
        if a.features:
            open(os.path.join(a.features, x["instance_id"] + ".json"), "w").write(answer.stdout)
            link = os.path.join(a.features, "trees", x["repo"].replace("/", "__"), x["base_commit"])
            os.makedirs(os.path.dirname(link), exist_ok=True)
            if not os.path.lexists(link):
                os.symlink(tree, link)
        ranks = [ranked.index(g) + 1 if g in ranked else None for g in gold_files(x["golden_patch"])]
        results.append((x["repo"], ranks))

    def row(name, rs):
        n = len(rs)
        at = lambda k: sum(all(r is not None and r <= k for r in ranks) for _, ranks in rs) / n
        mrr = sum(1 / min(r for r in ranks if r) if any(r and r <= 20 for r in ranks) else 0
                  for _, ranks in rs) / n
        print(f"| {name} | {n} | {at(1):.3f} | {at(5):.3f} | {at(10):.3f} | {mrr:.3f} |")

    print("| repository (release trees) | tasks | recall@1 | recall@5 | recall@10 | MRR |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    row("**all**", results)
    for repo in repos:
        row(repo, [r for r in results if r[0] == repo])
    left = ", ".join(f"{repo} {n}" for repo, n in sorted(unusable.items()))
    print(f"\nleft out (the gold patch applies to no release tree): {left or 'none'}")
    seconds.sort()
    print(f"seconds per task: median {statistics.median(seconds):.2f}, "
          f"p95 {seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
