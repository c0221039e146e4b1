//! The ranking as a user sees it: which file comes first for an issue, and why.

use super::*;
use crate::solution::test_support::{commit, copy_fixture, fixture, git, git_repo, write};

fn rank_of(issue: (&str, &str)) -> Report {
    let issue = IssueText {
        title: issue.0.to_owned(),
        body: issue.1.to_owned(),
    };
    localize(&fixture("shop"), &issue, 5, Limits::default()).expect("localizes")
}

fn paths(report: &Report) -> Vec<&str> {
    report.candidates.iter().map(|c| c.path.as_str()).collect()
}

#[test]
fn a_python_traceback_points_at_its_innermost_repository_frame() {
    let trace = "Removing an item that is not in the cart crashes:\n\n```\nTraceback (most recent call last):\n  File \"<string>\", line 4, in <module>\n  File \"/home/dev/shop/py/shop/cart.py\", line 18, in remove_item\n    del self.items[sku]\nKeyError: 'pear'\n```\n";
    let report = rank_of(("KeyError when removing an unknown item", trace));
    let best = &report.candidates[0];
    assert_eq!(best.path, "py/shop/cart.py");
    assert!(
        best.reasons
            .contains(&"stack trace: line 18 (the innermost frame in this repository)".to_owned()),
        "{:?}",
        best.reasons
    );
    assert_eq!(
        (best.excerpts[0].start_line, best.excerpts[0].end_line),
        (14, 21),
        "the trace line and the declaration of `remove_item`, merged"
    );
    assert!(best.excerpts[0].text.contains("del self.items[sku]"));
    assert!(best.symbols.contains(&"Cart.remove_item".to_owned()));
}

#[test]
fn a_file_the_trace_passes_through_often_does_not_outrank_the_innermost_frame() {
    // Doc 0 is passed through three times (frames 2 to 4 from the innermost), doc 1 raises.
    let boosts = StructuralBoosts {
        frames: HashMap::from([
            (
                0,
                vec![(1, Some(20), 1), (2, Some(21), 1), (3, Some(22), 1)],
            ),
            (1, vec![(0, Some(13), 1)]),
        ]),
        path_mentions: HashMap::new(),
        message_df: Vec::new(),
        member_df: Vec::new(),
        literal_df: Vec::new(),
        reexported: HashMap::new(),
        modules: HashMap::new(),
        title_class_df: HashMap::new(),
    };
    let (through, reasons, lines) = boosts.frames_of(0);
    let (raises, _, _) = boosts.frames_of(1);
    assert!(raises > through, "{raises} > {through}");
    assert_eq!(reasons.len(), 3, "every frame is still a reason");
    assert_eq!(lines, vec![20, 21, 22]);
}

/// A throwaway repository written from `files`.
fn write_tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, content) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(full, content).expect("write");
    }
    dir
}

/// `files` built as owned strings, as `rank_in` takes them.
fn borrowed(files: &[(String, String)]) -> Vec<(&str, &str)> {
    files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect()
}

/// Ranks the files of a throwaway repository written from `files`.
fn rank_in(files: &[(&str, &str)], title: &str, body: &str) -> Vec<Candidate> {
    let dir = write_tree(files);
    let issue = IssueText {
        title: title.to_owned(),
        body: body.to_owned(),
    };
    localize(dir.path(), &issue, 10, Limits::default())
        .expect("localizes")
        .candidates
}

/// The first stage's order alone (before the second stage's model re-ranks it), with the
/// final ranking: the structural signals are proven on the first, and the file they find must
/// stay among the files the LLM reads in full in the second.
fn both_stages(files: &[(&str, &str)], title: &str, body: &str) -> (Vec<String>, Vec<Candidate>) {
    let dir = write_tree(files);
    let signals = IssueSignals::from_issue(title, body);
    let corpus = index::build(dir.path(), &signals, Limits::default(), None).expect("indexes");
    let by_path = reexports::by_path(&corpus.docs);
    let first = rank(
        &corpus,
        &signals,
        &idf(&corpus.docs, &signals),
        &by_path,
        &HashMap::new(),
    )
    .into_iter()
    .map(|s| corpus.docs[s.doc].path.clone())
    .collect();
    (first, rank_in(files, title, body))
}

/// Both stages find `path` for the issue: the cheap one ranks it first, the final one gives it
/// to the LLM in full with `reason` among its reasons. The final ranking, for more checks.
fn found_first_for(
    files: &[(&str, &str)],
    (title, body): (&str, &str),
    path: &str,
    reason: &str,
) -> Vec<Candidate> {
    let (first, ranked) = both_stages(files, title, body);
    assert_eq!(first[0], path, "{first:?}");
    assert!(read_in_full(&ranked, path), "{ranked:?}");
    let reasons = &ranked[place(&ranked, path)].reasons;
    assert!(
        reasons.iter().any(|r| r == reason),
        "{reason:?} not in {reasons:?}"
    );
    ranked
}

/// Whether `path` is among the files the LLM reads in full when it drafts the fix.
fn read_in_full(ranked: &[Candidate], path: &str) -> bool {
    place(ranked, path) < crate::solution::draft::DraftOptions::default().prompt_files
}

/// The paths of the candidates with a reason `reason` accepts.
fn given_reason(ranked: &[Candidate], reason: impl Fn(&str) -> bool) -> Vec<&str> {
    (ranked.iter())
        .filter(|c| c.reasons.iter().any(|r| reason(r)))
        .map(|c| c.path.as_str())
        .collect()
}

/// The place of `path` in the final ranking, from 0.
fn place(ranked: &[Candidate], path: &str) -> usize {
    ranked
        .iter()
        .position(|c| c.path == path)
        .unwrap_or_else(|| panic!("{path} is ranked: {ranked:?}"))
}

fn score_of(ranked: &[Candidate], path: &str) -> f64 {
    ranked
        .iter()
        .find(|c| c.path == path)
        .map(|c| c.score)
        .expect("ranked")
}

#[test]
fn a_test_file_ranks_well_below_the_code_unless_the_issue_is_about_a_test() {
    // The same text in the code and in a test: only the test demotion sets them apart.
    let text = "def convert_to(expr, unit):\n    return expr\n";
    let files = [("pkg/units.py", text), ("pkg/tests/test_units.py", text)];
    let ranked = rank_in(
        &files,
        "convert_to gives joule wrong",
        "convert_to(3, 'joule')",
    );
    let (code, test) = (
        score_of(&ranked, "pkg/units.py"),
        score_of(&ranked, "pkg/tests/test_units.py"),
    );
    assert!(test < 0.5 * code, "{test} < {code} / 2");
    let ranked = rank_in(
        &files,
        "Flaky test: test_convert_to fails on joule",
        "`test_convert_to` in pkg/tests/test_units.py fails with convert_to(3, 'joule')",
    );
    assert_eq!(ranked[0].path, "pkg/tests/test_units.py", "{ranked:?}");
}

#[test]
fn docs_examples_testing_trees_and_a_stray_language_rank_below_the_code() {
    let text =
        "def render_kbd(keys):\n    \"\"\"Render a kbd role: the keys and separators.\"\"\"\n";
    let mut files: Vec<(String, String)> = vec![
        ("pkg/roles.py".to_owned(), text.to_owned()),
        ("doc/conf.py".to_owned(), text.to_owned()),
        ("examples/kbd.py".to_owned(), text.to_owned()),
        ("testing/helpers.py".to_owned(), text.to_owned()),
        (
            "pkg/static/kbd-1.2.js".to_owned(),
            "function renderKbd(keys) { /* render the kbd role: keys and separators */ }\n"
                .repeat(3),
        ),
    ];
    files.extend((0..20).map(|i| (format!("pkg/m{i}.py"), "x = 1\n".to_owned())));
    let files = borrowed(&files);
    let ranked = rank_in(&files, "kbd role renders separators as keys", "");
    assert_eq!(ranked[0].path, "pkg/roles.py", "{ranked:?}");
    let js = ranked
        .iter()
        .find(|c| c.path.ends_with(".js"))
        .expect("ranked");
    assert!(
        js.reasons
            .contains(&"in a language little used here (ranked lower)".to_owned()),
        "{:?}",
        js.reasons
    );
}

#[test]
fn a_quoted_error_message_finds_the_file_raising_it() {
    let files = [
        (
            "pkg/api.py",
            "def resize(widget, size):\n    \"\"\"A widget of a negative size, of any kind: a negative widget size is rejected.\"\"\"\n    return check(widget, size)\n",
        ),
        (
            "pkg/checks.py",
            "def check(w, s):\n    if s < 0:\n        raise ValueError(f\"size {s} must not be negative for this kind\")\n",
        ),
    ];
    let body = "```\nTraceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\nValueError: size -3 must not be negative for this kind\n```\n";
    // The decoy's docstring repeats the title word for word: the first stage still puts the
    // message first; the second, fitted on real issues, trusts that overlap more, but keeps
    // the message's file among those the LLM reads.
    let (first, ranked) = both_stages(&files, "A widget of a negative size is rejected", body);
    assert_eq!(first[0], "pkg/checks.py", "{first:?}");
    assert!(read_in_full(&ranked, "pkg/checks.py"), "{ranked:?}");
    let at = place(&ranked, "pkg/checks.py");
    assert!(ranked[at].reasons[0].starts_with("holds the message \"must not be negative"));
}

#[test]
fn an_option_named_in_the_issue_finds_the_file_registering_it() {
    let files = [
        (
            "pkg/checkers/similar.py",
            "class SimilarChecker:\n    options = ((\"min-similarity-lines\", {\"default\": 4}),)\n",
        ),
        (
            "pkg/checkers/duplicates.py",
            "def check_duplicate_code(lines):\n    return lines\n",
        ),
    ];
    let body = "Setting it to 0 treats every line of code as duplicate code.";
    // The same words, once as words and once as the option's name.
    let words = rank_in(
        &files,
        "Setting min similarity lines to 0 should stop checking duplicate code",
        body,
    );
    assert_eq!(words[0].path, "pkg/checkers/duplicates.py", "{words:?}");
    let (first, named) = both_stages(
        &files,
        "Setting `min-similarity-lines` to `0` should stop checking duplicate code",
        body,
    );
    assert_eq!(first[0], "pkg/checkers/similar.py", "{first:?}");
    assert!(read_in_full(&named, "pkg/checkers/similar.py"), "{named:?}");
    let at = place(&named, "pkg/checkers/similar.py");
    assert!(
        named[at].reasons.contains(
            &"holds \"min-similarity-lines\" as a string literal (line 2), named in the issue"
                .to_owned()
        ),
        "{:?}",
        named[at].reasons
    );
}

#[test]
fn a_dotted_api_name_finds_the_class_member_and_its_module() {
    let files = [
        (
            "xr/core/dataset.py",
            "class Dataset:\n    def interp(self, coords):\n        return self\n",
        ),
        (
            "xr/core/dataarray.py",
            "class DataArray:\n    \"\"\"Interp keeps the attributes; dropping attributes is a bug.\"\"\"\n    def interp(self, coords):\n        return self\n    def dataset(self):\n        return Dataset()\n",
        ),
        ("xr/plot/__init__.py", "from .facet import facet\n"),
        ("xr/plot/facet.py", "def facet(data):\n    return data\n"),
    ];
    found_first_for(
        &files,
        (
            "interp drops attributes",
            "xr.Dataset.interp(x=1) loses them",
        ),
        "xr/core/dataset.py",
        "declares `xr.Dataset.interp` (line 2), used in the issue",
    );
    let ranked = rank_in(&files, "Plotting is slow", "calling xr.plot on big data");
    let module = ranked
        .iter()
        .find(|c| c.path == "xr/plot/__init__.py")
        .expect("the module is a candidate");
    assert_eq!(
        module.reasons[0],
        "the module of `xr.plot`, used in the issue"
    );
    assert!(module.features.is_some_and(|f| f.titled == 0.0));
    // Named in the title, the module is what the report is about.
    let ranked = rank_in(&files, "xr.plot is slow", "calling it on big data");
    let module = &ranked[place(&ranked, "xr/plot/__init__.py")];
    assert!(
        module
            .reasons
            .contains(&"the title names `xr.plot`".to_owned()),
        "{:?}",
        module.reasons
    );
    assert!(module.features.is_some_and(|f| f.titled == 1.0));
}

#[test]
fn a_public_api_name_leads_through_the_package_index_to_its_definition() {
    let files = [
        (
            "xr/__init__.py",
            "from .core.computation import select\nfrom .core import *\n",
        ),
        ("xr/core/__init__.py", "from .merge import *\n"),
        (
            "xr/core/computation.py",
            "def select(cond, x, y):\n    return apply(cond, x, y)\n",
        ),
        (
            "xr/core/merge.py",
            "def merge(objects):\n    return objects\n",
        ),
        (
            "xr/core/dataarray.py",
            "class DataArray:\n    def select(self, cond, other):\n        \"\"\"Keeps attributes; select drops attributes of the coordinates.\"\"\"\n        return self\n",
        ),
    ];
    found_first_for(
        &files,
        (
            "`xr.select` drops attributes",
            "xr.select(cond, x, y) loses the attributes of the coordinates",
        ),
        "xr/core/computation.py",
        "`select` of the public API: `xr/__init__.py` takes it from here",
    );
    let ranked = rank_in(&files, "`xr.merge` is slow", "merging many objects");
    assert_eq!(ranked[0].path, "xr/core/merge.py");
    assert!(
        ranked[0]
            .reasons
            .contains(&"`merge` of the public API: `xr/__init__.py` takes it from here".to_owned()),
        "through two `*` imports: {:?}",
        ranked[0].reasons
    );
}

#[test]
fn a_rust_api_name_leads_through_pub_use_to_its_definition() {
    let files = [
        (
            "src/lib.rs",
            "mod de;\nmod error;\nmod map;\npub mod value;\npub use crate::error::*;\npub use crate::value::{Map, Value};\n",
        ),
        (
            "src/error.rs",
            "pub enum Category {\n    Io,\n    Syntax,\n}\n",
        ),
        (
            "src/read.rs",
            "/// What kind of failure a read met.\nenum Category {\n    Eof,\n}\n",
        ),
        (
            "src/value/mod.rs",
            "pub use crate::map::Map;\n\npub enum Value {\n    Null,\n    Object(Map<String, Value>),\n}\n",
        ),
        (
            "src/map.rs",
            "pub struct Map<K, V> {\n    entries: Vec<(K, V)>,\n}\n\nimpl<K, V> Map<K, V> {\n    pub fn insert(&mut self, key: K, value: V) {\n        self.entries.push((key, value));\n    }\n}\n",
        ),
        (
            "src/de.rs",
            "/// Reads an object's keys and values while deserializing, removing the keys a predicate\n/// rejects.\nstruct Map<'a> {\n    keys: &'a [String],\n}\n",
        ),
    ];
    // Through `src/value/mod.rs`.
    found_first_for(
        &files,
        (
            "Add `jsn::Map::retain`",
            "`jsn::Map` has no `retain`, so removing keys by a predicate means collecting the keys first.",
        ),
        "src/map.rs",
        "`Map` of the public API: `src/lib.rs` takes it from here",
    );
    // Through `lib.rs`'s `*`.
    found_first_for(
        &files,
        (
            "`jsn::Category` of an early EOF is wrong",
            "An input that ends early reports the wrong category.",
        ),
        "src/error.rs",
        "`Category` of the public API: `src/lib.rs` takes it from here",
    );
}

#[test]
fn a_trace_frame_in_a_test_counts_less_than_one_in_the_library() {
    let files = [
        ("lib/merge.py", "def merge(a, b):\n    return a | b\n"),
        (
            "tests/test_merge.py",
            "def test_merge():\n    merge(1, 2)\n",
        ),
    ];
    let body = "Traceback (most recent call last):\n  File \"/src/proj/lib/merge.py\", line 2, in merge\n  File \"/src/proj/tests/test_merge.py\", line 2, in test_merge\nTypeError: unsupported operand\n";
    let ranked = rank_in(&files, "merge fails", body);
    assert_eq!(ranked[0].path, "lib/merge.py", "{ranked:?}");
}

#[test]
fn a_go_panic_points_at_the_store() {
    let panic = "panic: assignment to entry in nil map\n\ngoroutine 1 [running]:\nexample.com/shop/inventory.(*Store).Restock(...)\n\t/home/dev/go/inventory/store.go:30\nmain.main()\n\t/home/dev/cmd/main.go:9 +0x25\n";
    let report = rank_of(("Restock panics on a new store", panic));
    assert_eq!(paths(&report)[0], "go/inventory/store.go");
}

#[test]
fn a_named_identifier_finds_its_declaration() {
    let report = rank_of((
        "`LruCache.get` does not refresh recency",
        "Reading an entry should make it the most recently used one, but `get` leaves the order unchanged, so `put` evicts it.",
    ));
    let best = &report.candidates[0];
    assert_eq!(best.path, "java/src/main/java/com/acme/cache/LruCache.java");
    assert!(
        best.reasons
            .iter()
            .any(|r| r.starts_with("declares `LruCache` (class, line 7)")),
        "{:?}",
        best.reasons
    );
    let test = report
        .candidates
        .iter()
        .position(|c| c.path.ends_with("LruCacheTest.java"))
        .expect("the test is a candidate too");
    assert!(test > 0);
    assert!(
        report.candidates[test]
            .reasons
            .contains(&"a test file (ranked lower)".to_owned())
    );
}

#[test]
fn plain_words_find_a_file_by_content_and_symbols() {
    let report = rank_of((
        "Negative prices are formatted wrongly",
        "Formatting a refund of -250 cents shows `-3.-50 EUR` instead of `-2.50 EUR`.",
    ));
    assert_eq!(paths(&report)[0], "js/src/format.js");
}

#[test]
fn a_quoted_path_and_a_rust_panic_location_count() {
    let report = rank_of((
        "parse_line accepts a zero quantity",
        "thread 'main' panicked at rs/src/parser.rs:13:5: zero quantity",
    ));
    assert_eq!(paths(&report)[0], "rs/src/parser.rs");
    let report = rank_of((
        "Retries are not honoured",
        "See `js/src/client.ts`: the option is ignored.",
    ));
    assert_eq!(paths(&report)[0], "js/src/client.ts");
    assert!(
        report.candidates[0]
            .reasons
            .contains(&"the issue names `js/src/client.ts`".to_owned())
    );
}

#[test]
fn vendored_hidden_and_unrelated_files_are_not_candidates() {
    let report = rank_of(("formatPrice rounds wrong", "formatPrice(199) gives 1.99"));
    let all = paths(&report);
    assert!(!all.iter().any(|p| p.contains("node_modules")), "{all:?}");
    assert!(!all.iter().any(|p| p.starts_with(".github")), "{all:?}");
    assert_eq!(report.files_indexed, 15);
}

#[test]
fn an_issue_matching_nothing_gives_no_candidates() {
    let report = rank_of(("zzzqqq", "xyzzy plugh"));
    assert!(report.candidates.is_empty());
}

#[test]
fn the_top_bound_and_an_empty_repository_are_respected() {
    let report = rank_of(("cart item quantity price stock cache order", ""));
    assert_eq!(report.candidates.len(), 5);
    let empty = tempfile::tempdir().expect("tempdir");
    let issue = IssueText::from_file_text("i.txt", "anything").expect("reads");
    let report = localize(empty.path(), &issue, 5, Limits::default()).expect("empty is fine");
    assert!(report.candidates.is_empty());
}

#[test]
fn issue_files_are_json_or_text() {
    let json = IssueText::from_file_text("a.json", r#"{"title": "T", "body": "B"}"#).expect("json");
    assert_eq!((json.title.as_str(), json.body.as_str()), ("T", "B"));
    let text =
        IssueText::from_file_text("a.md", "Title here\n\nBody line 1\nline 2\n").expect("text");
    assert_eq!(text.title, "Title here");
    assert_eq!(text.body, "Body line 1\nline 2");
    let err = IssueText::from_file_text("a.json", "title: x").expect_err("not json");
    assert!(format!("{err:#}").contains("a.json"));
}

#[test]
fn candidates_render_for_the_prompt() {
    let dir = copy_fixture("shop");
    let issue = IssueText {
        title: "apply_discount raises DiscountError for lowercase coupons".to_owned(),
        body: "`apply_discount(100, \"spring10\")` should accept the coupon.".to_owned(),
    };
    let report = localize(dir.path(), &issue, 1, Limits::default()).expect("localizes");
    insta::assert_snapshot!(render_candidates(&report.candidates), @r#"
        1. py/shop/pricing.py (score 1.00)
           - `apply_discount` of the public API: `py/shop/__init__.py` takes it from here
           - the title names `apply_discount`
           - declares `DiscountError` (class, line 6), named in the issue (error type)
           - declares `apply_discount` (function, line 10), named in the issue (backticked)
           - matching terms: discount, coupon, discounterror, apply, apply_discount, spring10
           - the issue's terms meet in lines 1-18
           - imported by `py/shop/__init__.py`, one of the best matches
           public symbols: COUPONS, DiscountError, apply_discount
           lines 3-13:
               3 | COUPONS = {"SPRING10": 10, "HALF": 50}
               4 |
               5 |
               6 | class DiscountError(Exception):
               7 |     """A coupon that does not exist or does not apply."""
               8 |
               9 |
              10 | def apply_discount(amount, coupon):
              11 |     percent = COUPONS.get(coupon)
              12 |     if percent is None:
              13 |         raise DiscountError(f"unknown coupon {coupon}")
        "#);
}

#[test]
fn the_second_stage_reads_the_imports_of_the_best_file_and_where_the_terms_meet() {
    // The snippet calls `lambdify`; the precision is lost in the printer it imports, which
    // the issue never names.
    let mut files: Vec<(String, String)> = vec![
        (
            "pkg/lambdify.py".to_owned(),
            "from pkg.printing.pycode import MpmathPrinter\n\n\ndef lambdify(args, expr, modules=None):\n    \"\"\"Turn expr into a function using mpmath or numpy.\"\"\"\n    return MpmathPrinter().doprint(expr)\n".to_owned(),
        ),
        (
            "pkg/printing/pycode.py".to_owned(),
            format!(
                "{}class MpmathPrinter:\n    def _print_Rational(self, e):\n        # rational numbers keep their precision with mpf\n        return 'mpf(%s)/mpf(%s)' % (e.p, e.q)\n",
                "import math\n".repeat(50)
            ),
        ),
    ];
    files.extend((0..10).map(|i| (format!("pkg/m{i}.py"), "x = 1\n".to_owned())));
    let files = borrowed(&files);
    let ranked = rank_in(
        &files,
        "lambdify(modules='mpmath') loses the precision of rationals",
        "```python\nf = lambdify(x, S(1)/3, 'mpmath')\n```\nThe rational is computed in floats.",
    );
    let printer = ranked
        .iter()
        .find(|c| c.path == "pkg/printing/pycode.py")
        .expect("the printer is a candidate");
    assert!(
        printer
            .reasons
            .contains(&"imported by `pkg/lambdify.py`, one of the best matches".to_owned()),
        "{:?}",
        printer.reasons
    );
    assert!(
        printer
            .reasons
            .iter()
            .any(|r| r == "the issue's terms meet in lines 21-54"),
        "the window holds the rational printer, past the 50 imports: {:?}",
        printer.reasons
    );
    let features = printer.features.expect("features");
    assert!(
        features.imported > 0.0 && features.window > 0.0,
        "{features:?}"
    );
    assert!(
        ranked[0].score == 1.0 && ranked.iter().all(|c| c.score <= 1.0),
        "scores are relative to the best: {ranked:?}"
    );
}

#[test]
fn a_module_the_whole_tree_imports_is_a_hub_and_the_issues_neighbourhood_leans_on_its_module() {
    // `app.py` is imported by every extension and its docstring holds more of the issue's
    // words than any file (on words alone it ranks first); the `kbd` role lives in
    // `keyboard.py`, imported by the HTML writer the issue is about and by one module the
    // issue has nothing to do with.
    let app = "class Application:\n    \"\"\"Renders the document: every role and every writer registers here.\"\"\"\n\n    def add_role(self, name, role):\n        \"\"\"Register a role (kbd, abbr) to render in HTML; a shortcut role splits its keys\n        on a separator, never into empty keys or wrong HTML.\"\"\"\n        self.roles[name] = role\n";
    let mut files: Vec<(String, String)> = vec![
        ("pkg/app.py".to_owned(), app.to_owned()),
        (
            "pkg/keyboard.py".to_owned(),
            "def kbd_role(text):\n    \"\"\"The keys of a keyboard shortcut, split on separators.\"\"\"\n    return text.split('-')\n".to_owned(),
        ),
        (
            "pkg/writers/html.py".to_owned(),
            "from pkg.keyboard import kbd_role\n\n\ndef visit_literal(node):\n    \"\"\"HTML for a literal node.\"\"\"\n    return '<kbd>' + node + '</kbd>'\n".to_owned(),
        ),
        (
            "pkg/stats.py".to_owned(),
            "from pkg import keyboard\n\nCOUNT = 0\n".to_owned(),
        ),
    ];
    files.extend((0..rescore::HUB).map(|i| {
        (
            format!("pkg/ext/e{i}.py"),
            "from pkg.app import Application\n\nX = 1\n".to_owned(),
        )
    }));
    let files = borrowed(&files);
    let ranked = rank_in(
        &files,
        "kbd role renders wrong HTML for a shortcut with a separator",
        "The `kbd` role splits keys on `-`, so `:kbd:`-`` renders as two empty keys in HTML.",
    );
    let features = |path: &str| ranked[place(&ranked, path)].features.expect("features");
    assert_eq!(features("pkg/app.py").hub, 1.0, "{ranked:?}");
    assert_eq!(
        features("pkg/app.py").neighbours,
        0.0,
        "no extension matches the issue"
    );
    assert_eq!(features("pkg/keyboard.py").hub, 0.0);
    assert_eq!(
        features("pkg/keyboard.py").neighbours,
        0.5,
        "the writer is read, the stats module is not"
    );
    assert_eq!(
        features("pkg/app.py").lexical,
        1.0,
        "app.py is the best match on words"
    );
    assert_eq!(ranked[0].path, "pkg/keyboard.py", "{ranked:?}");
}

#[test]
fn the_file_the_title_names_is_read_though_the_reproduction_steps_sink_it_in_the_first_stage() {
    // The report's body walks through building the docs; a hundred and twenty modules of the
    // build share its words and outrank, on the whole text, the one module the title is about.
    let words = reproduction_words();
    let mut files: Vec<(String, String)> = (0..120)
        .map(|i| {
            let held: Vec<&str> = (0..60).map(|k| words[(i * 7 + k) % 200].as_str()).collect();
            // Common words of the title are everywhere in a real tree.
            let common = if i % 2 == 0 {
                "description annotation"
            } else {
                ""
            };
            (
                format!("pkg/builders/b{i:03}.py"),
                format!("def run():\n    \"\"\"{} {common}\"\"\"\n", held.join(" ")),
            )
        })
        .collect();
    files.push((
        "pkg/ext/typehints.py".to_owned(),
        "def merge_typehints(app, obj):\n    \"\"\"Record the return annotation as a field.\"\"\"\n    if app.config.autodoc_typehints == 'description':\n        return obj\n".to_owned(),
    ));
    let files = borrowed(&files);
    let title = "autodoc_typehints = \"description\" puts a return annotation on classes";
    let body = format!("To reproduce: {}", words.join(" "));
    let (first, ranked) = both_stages(&files, title, &body);
    let first_place = (first.iter())
        .position(|p| p == "pkg/ext/typehints.py")
        .expect("indexed");
    assert!(
        first_place >= rescore::DEPTH,
        "the premise: on the whole text it is below the files read ({first_place})"
    );
    assert!(read_in_full(&ranked, "pkg/ext/typehints.py"), "{ranked:?}");
}

/// Two hundred made-up words, as a report's reproduction steps spell out a build: none is in
/// the module the issue is about.
fn reproduction_words() -> Vec<String> {
    let letter = |k: usize| char::from(b'a' + (k % 26) as u8);
    (0..200)
        .map(|w| format!("ward{}{}", letter(w / 26), letter(w)))
        .collect()
}

/// Ranks the git work tree at `root` for the issue, with or without its history.
fn ranked_with_history(
    root: &Path,
    (title, body): (&str, &str),
    top: usize,
    history: bool,
) -> Vec<String> {
    let issue = IssueText {
        title: title.to_owned(),
        body: body.to_owned(),
    };
    let history = history.then(|| History::of_work_tree(root).expect("a clone"));
    let report = localize_with(root, &issue, top, Limits::default(), None, history.as_ref())
        .expect("localizes");
    report.candidates.into_iter().map(|c| c.path).collect()
}

/// Two modules answer the report's words about as well; the one the fix of the issue it cites
/// changed comes first.
#[test]
fn of_two_files_the_issue_matches_alike_the_one_an_earlier_fix_it_cites_changed_comes_first() {
    let dir = git_repo();
    let root = dir.path();
    write(
        root,
        "pkg/common.py",
        "class DataWithCoords:\n    def where(self, cond, other, keep_attrs=None):\n        \"\"\"Filter elements where cond holds; the attrs of the variables and coordinates are kept.\"\"\"\n        return ops.where_method(self, cond, other, keep_attrs)\n",
    );
    write(
        root,
        "pkg/computation.py",
        "def where(cond, x, y, keep_attrs=None):\n    \"\"\"Return elements from x or y depending on cond; keep_attrs sets the attrs.\"\"\"\n    return apply_ufunc(cond, x, y, keep_attrs=keep_attrs)\n",
    );
    write(
        root,
        "pkg/io.py",
        "def open_dataset(path):\n    \"\"\"Read a file.\"\"\"\n",
    );
    write(
        root,
        "pkg/plot.py",
        "def line(darray):\n    \"\"\"Draw a line plot.\"\"\"\n",
    );
    commit(root, "pkg/units.py", "Start");
    commit(
        root,
        "pkg/computation.py",
        "Fix #6461: keep_attrs with a scalar",
    );
    commit(root, "pkg/common.py", "Docs");
    let issue = (
        "where with keep_attrs=True overwrites the attrs of the coordinates",
        "Since #6461 was fixed, `xr.where(cond, x, y, keep_attrs=True)` puts the variable's \
         attrs on every coordinate.",
    );
    let without = ranked_with_history(root, issue, 2, false);
    assert_eq!(without, ["pkg/common.py", "pkg/computation.py"]);
    let with = ranked_with_history(root, issue, 2, true);
    assert_eq!(with, ["pkg/computation.py", "pkg/common.py"]);
    // A lookup that fails (here a revision the clone does not have) ranks as without history.
    let broken = History::new(root.join(".git"), "no-such-revision").expect("a revision");
    let text = IssueText {
        title: issue.0.to_owned(),
        body: issue.1.to_owned(),
    };
    let report = localize_with(root, &text, 2, Limits::default(), None, Some(&broken))
        .expect("localizes without the history");
    let paths: Vec<&str> = report.candidates.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, without);
}

/// The report's reproduction steps match a hundred and twenty build modules on words, and the
/// module the fix of the issue it cites changed hardly at all: the second stage reads it anyway.
#[test]
fn the_file_an_earlier_fix_changed_is_read_though_the_reports_words_sink_it() {
    let dir = git_repo();
    let root = dir.path();
    let words = reproduction_words();
    for i in 0..120 {
        let held: Vec<&str> = (0..20 + i / 3)
            .map(|k| words[(i * 7 + k) % 200].as_str())
            .collect();
        let text = format!("def run():\n    \"\"\"{}\"\"\"\n", held.join(" "));
        write(root, &format!("pkg/builders/b{i:03}.py"), &text);
    }
    commit(
        root,
        "pkg/ext/mock.py",
        "Mocked modules stand in for missing imports",
    );
    commit(
        root,
        "pkg/ext/mock.py",
        "Fix #8164: keep the name of a mocked superclass",
    );
    commit(root, "pkg/builders/b000.py", "Tidy the builders");
    let body = format!(
        "Fixed once in #8164, broken again for modules we mock. To reproduce: {}",
        words.join(" ")
    );
    let issue = (
        "The section of inherited classes shows `torch.nn.`",
        body.as_str(),
    );
    let without = ranked_with_history(root, issue, 200, false);
    let before = without.iter().position(|p| p == "pkg/ext/mock.py");
    assert!(
        before.is_some_and(|p| p >= rescore::DEPTH),
        "the premise: {before:?}"
    );
    let with = ranked_with_history(root, issue, 200, true);
    let after = with.iter().position(|p| p == "pkg/ext/mock.py");
    assert!(after.is_some_and(|p| p < rescore::DEPTH), "{after:?}");
}

#[test]
fn a_report_whose_title_names_a_member_is_about_that_member_not_the_code_its_trace_goes_through() {
    // `Contains.as_set` returns itself, not a set; the report shows it, then what it breaks
    // elsewhere: a trace through `Piecewise`, which calls `as_set` on every condition. On the
    // words, the trace and the declarations alone `piecewise.py` comes first (`contains.py`
    // scores 0.72 of it); that the title names `Contains.as_set` puts `contains.py` first.
    let files = [
        (
            "pkg/__init__.py",
            "from .sets.contains import Contains\nfrom .functions.piecewise import Piecewise\n",
        ),
        (
            "pkg/sets/contains.py",
            "class Contains:\n    \"\"\"Whether an element is in a set: Contains(x, Reals).\"\"\"\n\n    def as_set(self):\n        return self\n",
        ),
        (
            "pkg/functions/piecewise.py",
            "class Piecewise:\n    def __new__(cls, *args):\n        return cls.eval(*args)\n\n    @classmethod\n    def eval(cls, *args):\n        for expr, cond in args:\n            # the set where the condition holds, as a relational\n            cond = cond.as_set().as_relational(expr)\n        return args\n",
        ),
        (
            "pkg/logic/boolalg.py",
            "class Boolean:\n    def as_set(self):\n        \"\"\"The set where the condition holds (Reals, an Interval), with as_relational to turn it back.\"\"\"\n        return self\n",
        ),
    ];
    let body = "```\n>>> Contains(x, Reals).as_set()\nContains(x, Reals)\n```\n\nContains is not a set, so it has no as_relational and fails elsewhere:\n\n```\n>>> Piecewise((6, Contains(x, Reals)), (7, True))\nTraceback (most recent call last):\n  File \"./pkg/functions/piecewise.py\", line 9, in eval\n    cond = cond.as_set().as_relational(expr)\nAttributeError: 'Contains' object has no attribute 'as_relational'\n```\n";
    let titled = rank_in(&files, "Contains.as_set returns Contains", body);
    assert_eq!(titled[0].path, "pkg/sets/contains.py", "{titled:?}");
    assert!(
        titled[0]
            .reasons
            .contains(&"the title names `Contains.as_set`".to_owned()),
        "{:?}",
        titled[0].reasons
    );
    // The same report titled by its symptom is about the code the trace goes through.
    let symptom = rank_in(&files, "Piecewise fails on a condition", body);
    assert_eq!(symptom[0].path, "pkg/functions/piecewise.py", "{symptom:?}");
    assert!(
        symptom[0]
            .reasons
            .contains(&"the title names `Piecewise`".to_owned()),
        "{:?}",
        symptom[0].reasons
    );
}

#[test]
fn a_report_whose_title_names_a_type_is_about_the_file_named_after_it() {
    // "Require a non-empty name for Blueprints": the report's words (empty, name, raised) are
    // those of the request wrapper, which reads a blueprint's name off the matched rule; on
    // them `wrappers.py` comes first (`blueprints.py` scores 0.67 of it). The title names, in
    // the plural, the type `blueprints.py` is named after and declares: that puts it first.
    let files = [
        (
            "pkg/blueprints.py",
            "class Blueprint:\n    \"\"\"A group of views registered on an app.\"\"\"\n\n    def __init__(self, name, import_name):\n        if \".\" in name:\n            raise ValueError(\"'name' may not contain a dot '.' character.\")\n        self.name = name\n        self.import_name = import_name\n\n    def register(self, app):\n        app.blueprints[self.name] = self\n",
        ),
        (
            "pkg/wrappers.py",
            "class Request:\n    @property\n    def blueprint(self):\n        \"\"\"The name of the blueprint of the matched rule; nothing is raised when it is empty.\"\"\"\n        return self.endpoint.rpartition('.')[0]\n",
        ),
        (
            "pkg/app.py",
            "from .blueprints import Blueprint\n\nclass App:\n    def register_blueprint(self, blueprint):\n        blueprint.register(self)\n",
        ),
    ];
    let body = "Things do not work correctly if a Blueprint is given an empty name.\nIt would be helpful if a `ValueError` was raised when trying to do that.\n";
    let ranked = rank_in(&files, "Require a non-empty name for Blueprints", body);
    assert_eq!(ranked[0].path, "pkg/blueprints.py", "{ranked:?}");
    assert!(
        ranked[0].reasons.contains(
            &"declares `Blueprint` (line 1), the type it is named after, which the title names"
                .to_owned()
        ),
        "{:?}",
        ranked[0].reasons
    );
    // The same report under a title that names no type is about the code its words are in.
    let untitled = rank_in(&files, "Require a non-empty name", body);
    assert_eq!(untitled[0].path, "pkg/wrappers.py", "{untitled:?}");
}

#[test]
fn a_report_whose_title_names_a_class_is_about_the_file_that_declares_it() {
    // "Rational of two strings gives 1/100100": the report's words (rational, string, parsed,
    // decimal) are those of the parser that turns strings into rationals; on them `parsing.py`
    // comes first. The title writes `Rational`, which `numbers.py` declares (a file not named after
    // it) and no other file does: that puts it first.
    let files = [
        (
            "pkg/core/numbers.py",
            "class Integer:\n    def __new__(cls, i):\n        return int(i)\n\n\nclass Rational:\n    \"\"\"p/q, each a decimal string or a number: two strings give the value of their quotient, once parsed.\"\"\"\n    def __new__(cls, p, q=None):\n        if isinstance(p, str):\n            p = Fraction(p)\n        if isinstance(q, str):\n            q = Fraction(q)\n        return p / q\n",
        ),
        (
            "pkg/parsing.py",
            "def parse_rational(text):\n    \"\"\"A rational parsed from a decimal string such as '0.5': two strings give\n    the value of their quotient.\"\"\"\n    if '.' in text:\n        return parse_decimal(text)\n    return int(text)\n",
        ),
        (
            "pkg/printing.py",
            "def print_fraction(p, q):\n    return f'{p}/{q}'\n",
        ),
    ];
    let body = "Two strings give a wrong value: the decimal string '0.5' over the string '100' gives 1/100100, whereas 1/200 is expected. The string '0.5' is parsed as a decimal string.\n";
    let ranked = rank_in(&files, "Rational of two strings gives 1/100100", body);
    assert_eq!(ranked[0].path, "pkg/core/numbers.py", "{ranked:?}");
    assert!(
        (ranked[0].reasons)
            .contains(&"declares `Rational` (line 6), a type the title names".to_owned()),
        "{:?}",
        ranked[0].reasons
    );
    // The same words, the type not written as it is spelled, or written as a stop word
    // ("Error", which `errors.py` would declare), name no type: the report is about the code
    // its words are in.
    for title in [
        "rational of two strings gives 1/100100",
        "Error: a rational of two strings gives 1/100100",
    ] {
        let mut files = files.to_vec();
        files.push(("pkg/errors.py", "class Error(Exception):\n    pass\n"));
        let ranked = rank_in(&files, title, body);
        assert_eq!(ranked[0].path, "pkg/parsing.py", "{title}: {ranked:?}");
        assert_eq!(
            given_reason(&ranked, |r| r.ends_with("the title names")),
            Vec::<&str>::new(),
            "{title}"
        );
    }
}

#[test]
fn a_type_the_title_names_is_also_where_its_methods_are_implemented() {
    // Rust and Go declare a type in one file and implement its methods in others: "Prerelease
    // ordering …" is about `impls.rs`'s `impl Ord for Prerelease` as much as about the
    // declaration in `lib.rs`. Both are named, each as one of the two files that do (1/2).
    let named = |files: &[(&str, &str)], title: &str| -> Vec<(String, String, f64)> {
        let mut named: Vec<_> = (rank_in(files, title, "It sorts `10` before `9`.\n").into_iter())
            .filter_map(|c| {
                let reason = (c.reasons.iter()).find(|r| r.ends_with("a type the title names"))?;
                let value = c.features.as_ref()?.title_class;
                Some((c.path.clone(), reason.clone(), value))
            })
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        named
    };
    let rust = [
        (
            "src/lib.rs",
            "mod impls;\n\npub struct Prerelease {\n    identifier: String,\n}\n\npub struct BuildMetadata {\n    identifier: String,\n}\n",
        ),
        (
            "src/impls.rs",
            "use crate::Prerelease;\nuse std::cmp::Ordering;\n\nimpl Ord for Prerelease {\n    fn cmp(&self, rhs: &Self) -> Ordering {\n        self.identifier.cmp(&rhs.identifier)\n    }\n}\n",
        ),
        (
            "src/parse.rs",
            "pub fn numeric(text: &str) -> Option<u64> {\n    text.parse().ok()\n}\n",
        ),
    ];
    let of = |path: &str, reason: &str| (path.to_owned(), reason.to_owned(), 0.5);
    assert_eq!(
        named(
            &rust,
            "Prerelease ordering compares numeric identifiers as text"
        ),
        [
            of(
                "src/impls.rs",
                "implements methods of `Prerelease` (line 5), a type the title names"
            ),
            of(
                "src/lib.rs",
                "declares `Prerelease` (line 3), a type the title names"
            ),
        ]
    );
    // A Go method's receiver is the type it implements.
    let go = [
        (
            "flag.go",
            "package pflag\n\ntype Flag struct {\n\tName string\n}\n",
        ),
        (
            "sort.go",
            "package pflag\n\nfunc (f *Flag) Less(other *Flag) bool {\n\treturn f.Name < other.Name\n}\n",
        ),
    ];
    assert_eq!(
        named(&go, "Flag sorting compares numbers as text"),
        [
            of(
                "flag.go",
                "declares `Flag` (line 3), a type the title names"
            ),
            of(
                "sort.go",
                "implements methods of `Flag` (line 3), a type the title names"
            ),
        ]
    );
}

#[test]
fn a_package_index_is_not_named_by_the_reporters_own_package_index() {
    // The reproduction's `sample_package/__init__.py` is the reporter's file: the tree's
    // `__init__.py` files share its name, not its package. `pkg/core/__init__.py` is.
    let files = [
        ("pkg/__init__.py", "from .core import Square\n"),
        ("pkg/core/__init__.py", "class Square:\n    pass\n"),
        (
            "pkg/render.py",
            "def render(width, height):\n    return width * height\n",
        ),
    ];
    let named = |body: &str| -> Vec<String> {
        let ranked = rank_in(&files, "Square renders a return type", body);
        (given_reason(&ranked, |r| r.starts_with("the issue names")).into_iter())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        named("Create `sample_package/__init__.py` with a class Square and render it."),
        Vec::<String>::new()
    );
    assert_eq!(
        named("The class comes from `core/__init__.py` and renders badly."),
        ["pkg/core/__init__.py"]
    );
}

#[test]
fn a_file_is_named_by_an_inflected_word_of_the_report() {
    // "… documented when mocked": `mock.py` is the module that mocks, though the report never
    // says "mock". Both files hold the word "mocked"; `__init__.py` holds more of the report's
    // words (it scores 1.3 times `mock.py` on them), and the title's "mocked" naming
    // `mock.py` puts that first.
    let mut files = vec![
        (
            "pkg/autodoc/__init__.py".to_owned(),
            "from .mock import mock\n\nclass ClassDocumenter:\n    \"\"\"Documents a class, a mocked one too: its bases and its members.\"\"\"\n\n    def add_bases(self, cls):\n        bases = [base.__qualname__ for base in cls.__bases__]\n        self.add_line(', '.join(bases))\n".to_owned(),
        ),
        (
            "pkg/autodoc/mock.py".to_owned(),
            "class _MockObject:\n    \"\"\"Stands in for an object of a mocked module.\"\"\"\n\n    def __init__(self, name, parent=None):\n        self.__qualname__ = name\n        self.__display_name__ = name\n\n\ndef mock(modnames):\n    \"\"\"Insert the modules into sys.modules while documenting.\"\"\"\n    return [_MockObject(n) for n in modnames]\n".to_owned(),
        ),
        (
            "pkg/util/typing.py".to_owned(),
            "def restify(cls):\n    \"\"\"The reST reference of a class, its module and qualified name.\"\"\"\n    return ':class:`%s.%s`' % (cls.__module__, cls.__qualname__)\n".to_owned(),
        ),
    ];
    for name in ["config", "events", "locale", "highlight", "roles", "theme"] {
        files.push((
            format!("pkg/{name}.py"),
            format!("def setup_{name}(app):\n    \"\"\"Register the {name} of the app.\"\"\"\n    return app\n"),
        ));
    }
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let body = "Classes that inherit from a class of a module that is not installed show the wrong base: `Bases: torch.nn.` instead of `Bases: torch.nn.Module`. Classes inheriting from our own classes are documented correctly.\n";
    let ranked = rank_in(
        &files,
        "Inherited classes not correctly documented when mocked",
        body,
    );
    assert_eq!(ranked[0].path, "pkg/autodoc/mock.py", "{ranked:?}");
    assert!(ranked[0].features.is_some_and(|f| f.name == 1.0));
}

/// Two modules answer the title alike; the one whose past commits were about its words comes
/// first: the history says what a file is for in its maintainers' words.
#[test]
fn of_two_files_the_title_matches_alike_the_one_whose_past_commits_were_about_it_comes_first() {
    let dir = git_repo();
    let root = dir.path();
    let table = "def render(rows):\n    \"\"\"Render rows of cells as a table with a border around its cells.\"\"\"\n    return rows\n";
    let grid = "def render(rows):\n    \"\"\"Render rows of cells as a grid with a border.\"\"\"\n    return rows\n";
    write(root, "pkg/render/table.py", table);
    write(root, "pkg/render/grid.py", grid);
    for name in ["config", "events", "locale", "theme", "io", "cli"] {
        write(
            root,
            &format!("pkg/{name}.py"),
            &format!("def setup_{name}(app):\n    return app\n"),
        );
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "Start"]);
    // Each commit changes the file by a line that says nothing: the words are in the subjects.
    let change = |path: &str, text: &str, k: usize, subject: &str| {
        write(root, path, &format!("{text}\n# revision {k}\n"));
        git(root, &["commit", "-q", "-a", "-m", subject]);
    };
    change(
        "pkg/render/grid.py",
        grid,
        1,
        "Draw the border around wide cells",
    );
    change(
        "pkg/render/table.py",
        table,
        2,
        "Sort the rows by their key",
    );
    change(
        "pkg/render/grid.py",
        grid,
        3,
        "Wide cells no longer overflow the border",
    );
    change(
        "pkg/config.py",
        "def setup_config(app):\n    return app\n",
        4,
        "Read the theme",
    );
    let issue = (
        "Border missing on wide cells",
        "The border is not drawn when a cell is wider than its column.",
    );
    let without = ranked_with_history(root, issue, 10, false);
    assert_eq!(
        without[0], "pkg/render/table.py",
        "the premise: {without:?}"
    );
    let with = ranked_with_history(root, issue, 10, true);
    assert_eq!(with[0], "pkg/render/grid.py", "{with:?}");
}

#[test]
fn a_two_letter_class_name_the_report_calls_finds_its_declaration() {
    // sympy writes `Eq(a, b)` for `Equality`; a two-letter name counts when it is written as
    // a call or in backticks and starts with a capital, never a two-letter word of the prose.
    let files = [
        (
            "sympy/core/relational.py",
            "class Equality:\n    def as_set(self):\n        return self._eval_as_set()\n\n\nEq = Equality\n",
        ),
        (
            "sympy/solvers/solveset.py",
            "def solveset(f, symbol, domain):\n    raise NotImplementedError('solveset cannot solve the equation as a set')\n",
        ),
        (
            "sympy/sets/conditionset.py",
            "class ConditionSet:\n    def __new__(cls, sym, condition, base_set):\n        return condition\n",
        ),
        (
            "sympy/functions/complexes.py",
            "def re(arg):\n    return arg.as_real_imag()[0]\n",
        ),
    ];
    let ranked = rank_in(
        &files,
        "Relation raises instead of returning a set",
        "```\n>>> Eq(n*cos(n) - 3*sin(n), 0).as_set()\nNotImplementedError\n>>> re(n)\n```\nIt is on my list.",
    );
    let reasons = &ranked[place(&ranked, "sympy/core/relational.py")].reasons;
    assert!(
        reasons
            .iter()
            .any(|r| r == "declares `Eq` (variable, line 6), named in the issue (call)"),
        "{reasons:?}"
    );
    assert_eq!(ranked[0].path, "sympy/core/relational.py", "{ranked:?}");
    // A lowercase two-letter call (`re(n)`) is as likely a word as a name: `re` is not looked
    // up, so the file declaring it gets no reason for it.
    assert_eq!(
        given_reason(&ranked, |r| r.contains("`re`")),
        Vec::<&str>::new()
    );
}

#[test]
fn the_module_whose_names_the_best_file_uses_where_it_matches_comes_before_another_it_imports() {
    // Both helpers are imported by the best file and say the same words; the fix of field
    // types is in the one whose class the field types are built from.
    let helper = |class: &str| {
        format!(
            "class {class}:\n    def __init__(self, name, names=()):\n        self.name = name\n        self.names = names\n\n    def lookup(self, param):\n        # a param found in the names\n        return param in self.names\n"
        )
    };
    let files = [
        (
            "sphinx/domains/python.py".to_owned(),
            "from sphinx.util.docfields import TypedField\nfrom sphinx.util.cfamily import Warner\n\n\nclass PyObject:\n    doc_field_types = [\n        TypedField('parameter', names=('param', 'type'), typerolename='class'),\n    ]\n\n    def resolve_type_xref(self, rtype):\n        # an rtype or a param type is looked up as a class\n        return self.find_obj(rtype, 'class')\n".to_owned()
                + &"\n".repeat(80)
                + "def warn(message):\n    Warner().render(message)\n",
        ),
        ("sphinx/util/docfields.py".to_owned(), helper("TypedField")),
        ("sphinx/util/cfamily.py".to_owned(), helper("Warner")),
    ];
    let ranked = rank_in(
        &borrowed(&files),
        ":type: and :rtype: give false ambiguous class lookup warnings",
        "A param type or an rtype naming a class resolves against every module.",
    );
    assert_eq!(ranked[0].path, "sphinx/domains/python.py", "{ranked:?}");
    assert!(
        place(&ranked, "sphinx/util/docfields.py") < place(&ranked, "sphinx/util/cfamily.py"),
        "{ranked:?}"
    );
    let reasons = &ranked[place(&ranked, "sphinx/util/docfields.py")].reasons;
    assert!(
        reasons.iter().any(|r| r
            == "`TypedField` used by `sphinx/domains/python.py` near the lines that match the issue"),
        "{reasons:?}"
    );
    assert_eq!(
        given_reason(&ranked, |r| r
            .contains("near the lines that match the issue")),
        ["sphinx/util/docfields.py"],
        "`Warner` is used 80 lines away from what matched"
    );
}

#[test]
fn a_module_the_best_file_uses_that_is_a_symlink_out_of_the_tree_is_neither_ranked_nor_read() {
    // The second stage lifts the module whose names the best file uses near the lines it
    // matched (`apply_discount` beside `remove_item`). A repository that commits that module
    // as a symlink to a file outside the tree (the service's App key) gets nothing of it into
    // the ranking, its reasons or its excerpts, which the LLM reads.
    let cart = "from .pricing import apply_discount\n\n\nclass Cart:\n    def remove_item(self, sku):\n        del self.items[sku]\n\n    def total(self, subtotal, coupon):\n        return apply_discount(subtotal, coupon)\n";
    let files = [
        ("shop/cart.py", cart),
        (
            "shop/pricing.py",
            "def apply_discount(subtotal, coupon):\n    return subtotal\n",
        ),
        ("shop/orders.py", "def place(order):\n    return order\n"),
    ];
    let issue = IssueText {
        title: "Cart.remove_item raises KeyError for an item not in the cart".to_owned(),
        body: "```\nTraceback (most recent call last):\n  File \"/venv/lib/python3.12/site-packages/shop/cart.py\", line 6, in remove_item\n    del self.items[sku]\nKeyError: 'pear'\n```\n".to_owned(),
    };
    // The premise: as a file of the tree, the module is lifted for its use.
    let ranked = rank_in(&files, &issue.title, &issue.body);
    assert_eq!(ranked[0].path, "shop/cart.py", "{ranked:?}");
    assert_eq!(
        given_reason(&ranked, |r| r
            == "`apply_discount` used by `shop/cart.py` near the lines that match the issue"),
        ["shop/pricing.py"]
    );

    let outside = tempfile::tempdir().expect("tempdir");
    let key = outside.path().join("github-app.pem");
    std::fs::write(&key, "def apply_discount(): 'FAKE-APP-KEY-7f3a9c'\n").expect("write");
    let dir = write_tree(&[files[0], files[2]]);
    std::os::unix::fs::symlink(&key, dir.path().join("shop/pricing.py")).expect("symlink");
    let report = localize(dir.path(), &issue, 10, Limits::default()).expect("localizes");
    assert_eq!(report.candidates[0].path, "shop/cart.py");
    assert!(
        !(report.candidates.iter()).any(|c| c.path == "shop/pricing.py"),
        "{report:?}"
    );
    let shown = serde_json::to_string(&report).expect("serializes");
    assert!(!shown.contains("FAKE-APP-KEY"), "the key was read: {shown}");
}
