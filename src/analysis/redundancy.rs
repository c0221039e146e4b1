//! Redundancy: which projects do the same thing. README similarity scales past pairwise
//! comparison with MinHash signatures and locality-sensitive hashing (64 bands of 2 rows: pairs
//! sharing a band are candidates), then each candidate pair is scored by TF-IDF cosine over the
//! whole corpus; API similarity is the Jaccard index of the names each project exposes: from
//! its sources, the public symbols of the tree-sitter parse (`crate::solution::parse`); from
//! its README, the functions and methods its code examples call, parsed the same way when the
//! fence names the language. Pairs above the thresholds join clusters (union-find); each cluster names
//! its healthiest member, and stale members — not pushed for a long time, or much less healthy —
//! are recommended for archival with the evidence. The penalty fed to the priority score's R
//! term is the similarity to the healthiest member times the staleness.

use crate::solution::parse::{self, Lang};
use regex::Regex;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

/// MinHash functions: `BANDS × ROWS`.
const BANDS: usize = 64;
const ROWS: usize = 2;
/// Words this common in the corpus (share of documents) carry no meaning for similarity.
const COMMON_DF: f64 = 0.5;

const STOPWORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "this",
    "that",
    "you",
    "your",
    "are",
    "can",
    "use",
    "from",
    "not",
    "all",
    "any",
    "our",
    "its",
    "into",
    "also",
    "will",
    "has",
    "have",
    "was",
    "but",
    "how",
    "see",
    "more",
    "about",
    "which",
    "when",
    "what",
    "there",
    "their",
    "them",
    "then",
    "than",
    "these",
    "those",
    "such",
    "each",
    "other",
    "only",
    "some",
    "most",
    "very",
    "just",
    "like",
    "www",
    "http",
    "https",
    "com",
    "org",
    "github",
    "license",
    "mit",
    "apache",
    "install",
    "installation",
    "usage",
    "example",
    "examples",
    "documentation",
    "docs",
    "contributing",
    "npm",
    "pip",
    "cargo",
    "yarn",
    "run",
    "using",
    "used",
    "get",
    "set",
    "new",
    "one",
    "two",
];

/// A project of the corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// `owner/name`.
    pub repo: String,
    /// Its README.
    pub readme: String,
    /// Names it exposes (see [`exported_names`]).
    pub api_names: BTreeSet<String>,
    /// Health in [0, 1].
    pub health: f64,
    /// Months since the last push.
    pub months_since_push: f64,
    /// Its README's embedding, when an embeddings endpoint is configured: two projects that
    /// both have one are compared by it instead of by TF-IDF.
    pub embedding: Option<Vec<f32>>,
}

/// Thresholds of the clustering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Least README TF-IDF cosine for two projects to do the same thing…
    pub readme: f64,
    /// …or least README cosine when their API names overlap at least `api`.
    pub readme_with_api: f64,
    /// Least API-name Jaccard that lowers the README bar to `readme_with_api`.
    pub api: f64,
    /// Months without a push after which a project is stale.
    pub stale_months: f64,
    /// Least README embedding cosine for two projects to do the same thing…
    pub embedding: f64,
    /// …or least embedding cosine when their API names overlap at least `api`.
    pub embedding_with_api: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            readme: 0.35,
            readme_with_api: 0.2,
            api: 0.3,
            stale_months: 12.0,
            // Not tuned on data (no embeddings here): related texts of current embedding
            // models score about 0.6 to 0.9, unrelated ones well under 0.5.
            embedding: 0.8,
            embedding_with_api: 0.65,
        }
    }
}

/// One member of a cluster, with the evidence against the healthiest member.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// `owner/name`.
    pub repo: String,
    /// README cosine to the healthiest member (1 for itself).
    pub readme_similarity: f64,
    /// API-name Jaccard to the healthiest member.
    pub api_similarity: f64,
    /// Names shared with the healthiest member.
    pub shared_names: Vec<String>,
    /// Whether it is the healthiest member.
    pub healthiest: bool,
    /// The redundancy penalty R in [0, 1].
    pub penalty: f64,
    /// Whether archiving it is recommended.
    pub archive: bool,
}

/// A group of projects that do the same thing.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Its members, the healthiest first.
    pub members: Vec<Member>,
}

fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() >= 3 && !w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_ascii_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// 64-bit FNV-1a.
fn fnv(text: &str, seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    // A final mix, so seeds give independent-looking orders.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

fn minhash(words: &HashSet<&str>) -> Vec<u64> {
    (0..BANDS * ROWS)
        .map(|seed| {
            words
                .iter()
                .map(|w| fnv(w, seed as u64 + 1))
                .min()
                .unwrap_or(u64::MAX)
        })
        .collect()
}

/// Candidate pairs `(i, j)`, `i < j`: projects whose MinHash signatures share a band.
pub fn candidates(word_sets: &[HashSet<&str>]) -> BTreeSet<(usize, usize)> {
    let signatures: Vec<Vec<u64>> = word_sets.iter().map(minhash).collect();
    let mut pairs = BTreeSet::new();
    for band in 0..BANDS {
        let mut buckets: HashMap<&[u64], Vec<usize>> = HashMap::new();
        for (i, sig) in signatures.iter().enumerate() {
            if word_sets[i].is_empty() {
                continue;
            }
            buckets
                .entry(&sig[band * ROWS..(band + 1) * ROWS])
                .or_default()
                .push(i);
        }
        for members in buckets.values() {
            for (a, &i) in members.iter().enumerate() {
                for &j in &members[a + 1..] {
                    pairs.insert((i.min(j), i.max(j)));
                }
            }
        }
    }
    pairs
}

/// TF-IDF vectors (L2-normalized) of the documents.
fn tfidf(docs: &[Vec<String>], keep: &HashSet<String>) -> Vec<HashMap<String, f64>> {
    let n = docs.len() as f64;
    let mut df: HashMap<&str, usize> = HashMap::new();
    for doc in docs {
        for w in doc.iter().map(String::as_str).collect::<HashSet<_>>() {
            *df.entry(w).or_default() += 1;
        }
    }
    docs.iter()
        .map(|doc| {
            let mut tf: HashMap<String, f64> = HashMap::new();
            for w in doc.iter().filter(|w| keep.contains(*w)) {
                *tf.entry(w.clone()).or_default() += 1.0;
            }
            let mut v: HashMap<String, f64> = tf
                .into_iter()
                .map(|(w, f)| {
                    let idf = (n / df.get(w.as_str()).copied().unwrap_or(1) as f64).ln() + 1.0;
                    (w, (1.0 + f.ln()) * idf)
                })
                .collect();
            let norm = v.values().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                v.values_mut().for_each(|x| *x /= norm);
            }
            v
        })
        .collect()
}

fn cosine(a: &HashMap<String, f64>, b: &HashMap<String, f64>) -> f64 {
    let (small, large) = if a.len() < b.len() { (a, b) } else { (b, a) };
    small
        .iter()
        .filter_map(|(w, x)| large.get(w).map(|y| x * y))
        .sum()
}

/// The vector scaled to unit length; `None` for a zero vector.
fn unit(v: &[f32]) -> Option<Vec<f32>> {
    let norm = v
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    (norm > 0.0).then(|| v.iter().map(|&x| (f64::from(x) / norm) as f32).collect())
}

/// The dot product (the cosine of two unit vectors); 0 when their lengths differ.
fn dot(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() {
        return 0.0;
    }
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

/// Projects with embeddings are few enough to compare every pair (up to this many): pairs
/// whose READMEs say the same in other words, which word hashing would not propose.
const EMBEDDING_ALL_PAIRS: usize = 5_000;

/// The pairs of embedded projects (unit vectors) at least `floor` apart in cosine, when they
/// are few enough.
fn embedding_candidates(embedded: &[Option<Vec<f32>>], floor: f64) -> Vec<(usize, usize)> {
    let with: Vec<(usize, &[f32])> = embedded
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((i, e.as_deref()?)))
        .collect();
    if with.len() > EMBEDDING_ALL_PAIRS {
        return Vec::new();
    }
    let mut pairs = Vec::new();
    for (n, &(i, a)) in with.iter().enumerate() {
        for &(j, b) in &with[n + 1..] {
            if dot(a, b) >= floor {
                pairs.push((i, j));
            }
        }
    }
    pairs
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

fn find(parent: &mut [usize], i: usize) -> usize {
    let mut root = i;
    while parent[root] != root {
        root = parent[root];
    }
    let mut i = i;
    while parent[i] != root {
        let next = parent[i];
        parent[i] = root;
        i = next;
    }
    root
}

/// Clusters of projects that do the same thing (clusters of one are left out), the largest
/// first.
pub fn clusters(projects: &[Project], thresholds: &Thresholds) -> Vec<Cluster> {
    let docs: Vec<Vec<String>> = projects.iter().map(|p| tokens(&p.readme)).collect();
    // Boilerplate words (in more than half the documents of a corpus big enough to tell) are
    // dropped before hashing and weighting.
    let mut df: HashMap<&str, usize> = HashMap::new();
    for doc in &docs {
        for w in doc.iter().map(String::as_str).collect::<HashSet<_>>() {
            *df.entry(w).or_default() += 1;
        }
    }
    let common = |w: &str| {
        docs.len() >= 10 && df.get(w).copied().unwrap_or(0) as f64 > COMMON_DF * docs.len() as f64
    };
    let keep: HashSet<String> = df
        .keys()
        .filter(|w| !common(w))
        .map(|w| (*w).to_owned())
        .collect();
    let sets: Vec<HashSet<&str>> = docs
        .iter()
        .map(|d| {
            d.iter()
                .map(String::as_str)
                .filter(|w| keep.contains(*w))
                .collect()
        })
        .collect();
    let vectors = tfidf(&docs, &keep);
    // Unit-length embeddings, so every comparison is one dot product.
    let embedded: Vec<Option<Vec<f32>>> = projects
        .iter()
        .map(|p| p.embedding.as_deref().and_then(unit))
        .collect();
    // README similarity: the embeddings' cosine when both projects have one, else TF-IDF's.
    let readme_similarity = |i: usize, j: usize| match (&embedded[i], &embedded[j]) {
        (Some(a), Some(b)) => (dot(a, b), true),
        _ => (cosine(&vectors[i], &vectors[j]), false),
    };
    let mut pairs = candidates(&sets);
    pairs.extend(embedding_candidates(
        &embedded,
        thresholds.embedding_with_api,
    ));
    let mut parent: Vec<usize> = (0..projects.len()).collect();
    for (i, j) in pairs {
        let (readme, embedded) = readme_similarity(i, j);
        let api = jaccard(&projects[i].api_names, &projects[j].api_names);
        let (alone, with_api) = if embedded {
            (thresholds.embedding, thresholds.embedding_with_api)
        } else {
            (thresholds.readme, thresholds.readme_with_api)
        };
        let same = readme >= alone || (api >= thresholds.api && readme >= with_api);
        if same {
            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
            parent[a] = b;
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..projects.len() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    let mut out: Vec<Cluster> = groups
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|group| {
            let best = group
                .iter()
                .copied()
                .max_by(|&a, &b| {
                    projects[a]
                        .health
                        .total_cmp(&projects[b].health)
                        .then(projects[b].repo.cmp(&projects[a].repo))
                })
                .unwrap_or(group[0]);
            let mut members: Vec<Member> = group
                .iter()
                .map(|&i| {
                    let p = &projects[i];
                    let readme = if i == best {
                        1.0
                    } else {
                        readme_similarity(i, best).0
                    };
                    let shared: Vec<String> = p
                        .api_names
                        .intersection(&projects[best].api_names)
                        .cloned()
                        .collect();
                    let api = if i == best {
                        1.0
                    } else {
                        jaccard(&p.api_names, &projects[best].api_names)
                    };
                    let similarity = readme.max(api).clamp(0.0, 1.0);
                    let staleness = (p.months_since_push / thresholds.stale_months).clamp(0.0, 1.0);
                    let penalty = if i == best {
                        0.0
                    } else {
                        similarity * staleness
                    };
                    let archive = i != best
                        && p.months_since_push >= thresholds.stale_months
                        && p.health < projects[best].health;
                    Member {
                        repo: p.repo.clone(),
                        readme_similarity: readme,
                        api_similarity: api,
                        shared_names: shared,
                        healthiest: i == best,
                        penalty,
                        archive,
                    }
                })
                .collect();
            members.sort_by(|a, b| b.healthiest.cmp(&a.healthiest).then(a.repo.cmp(&b.repo)));
            Cluster { members }
        })
        .collect();
    out.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.members[0].repo.cmp(&b.members[0].repo))
    });
    out
}

/// The parser for a language as discovery and configuration name it, or a code fence tags it.
fn parser_lang(language: &str) -> Option<Lang> {
    Some(match language.to_ascii_lowercase().as_str() {
        "python" | "py" | "python3" | "pycon" => Lang::Python,
        "javascript" | "js" | "jsx" | "mjs" | "node" => Lang::JavaScript,
        "typescript" | "ts" => Lang::TypeScript,
        "tsx" => Lang::Tsx,
        "go" | "golang" => Lang::Go,
        "rust" | "rs" => Lang::Rust,
        "java" => Lang::Java,
        _ => return None,
    })
}

/// An API name as compared: lower case, without `_`, so `get_user` and `getUser` meet.
fn normalize(name: &str) -> String {
    name.replace('_', "").to_lowercase()
}

/// The names a source file of `language` exports: the public symbols of its tree-sitter parse
/// (by the language's rules — see [`crate::solution::parse::Symbol::public`]), normalized.
pub fn exported_names(language: &str, source: &str) -> BTreeSet<String> {
    let Some(lang) = parser_lang(language) else {
        return BTreeSet::new();
    };
    parse::symbols(lang, source)
        .into_iter()
        .filter(|s| s.public)
        .map(|s| normalize(&s.name))
        .collect()
}

/// The functions and methods a code sample calls, from its tree-sitter parse: the callee's
/// name (`get_user` in `client.get_user(1)`, `Client` in `Client()` or `new Client()`).
fn called_names(lang: Lang, code: &str) -> Vec<String> {
    let Some(tree) = parse::parse(lang, code) else {
        return Vec::new();
    };
    let text = |n: tree_sitter::Node<'_>| code.get(n.byte_range()).unwrap_or_default();
    let mut names = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let callee = match node.kind() {
            // Python, JS/TS, Go, Rust.
            "call" | "call_expression" => node.child_by_field_name("function"),
            // Java, and `new Client()` in JS/TS and Java.
            "method_invocation" => node.child_by_field_name("name"),
            "new_expression" => node.child_by_field_name("constructor"),
            "object_creation_expression" => node.child_by_field_name("type"),
            _ => None,
        };
        // The last segment of a path: `client.get_user`, `pkg.Func`, `Type::new`.
        let name = callee.and_then(|c| {
            ["attribute", "property", "field", "name"]
                .iter()
                .find_map(|f| c.child_by_field_name(f))
                .or(Some(c))
        });
        if let Some(name) = name
            && name.named_child_count() == 0
        {
            names.push(text(name).to_owned());
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    names
}

#[expect(
    clippy::expect_used,
    reason = "constant patterns, checked by the tests"
)]
static CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\.?\b([A-Za-z_][A-Za-z0-9_]{2,})\s*\(").expect("a valid pattern")
});

/// The API a README shows: the functions and methods its fenced code blocks call, normalized
/// as [`exported_names`] normalizes. A block whose fence names a language GlobalLM parses is
/// read with tree-sitter; any other block (shell, untagged) with a regular expression for
/// `name(`. Used when the sources themselves are not at hand (discovery reads READMEs, not
/// code).
pub fn readme_api_names(readme: &str) -> BTreeSet<String> {
    const NOT_API: &[&str] = &[
        "print", "println", "console", "require", "import", "len", "str", "int", "new", "function",
        "return", "async", "await", "main", "log",
    ];
    readme
        .split("```")
        .skip(1)
        .step_by(2)
        .flat_map(|block| {
            let (info, code) = block.split_once('\n').unwrap_or(("", block));
            let tag = info
                .split([' ', ',', '{'])
                .next()
                .unwrap_or_default()
                .trim();
            match parser_lang(tag) {
                Some(lang) => called_names(lang, code),
                None => CALL
                    .captures_iter(block)
                    .filter_map(|c| c.get(1))
                    .map(|m| m.as_str().to_owned())
                    .collect(),
            }
        })
        .map(|n| normalize(&n))
        .filter(|n| n.len() > 2 && !NOT_API.contains(&n.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_names_are_found_per_language() {
        let py = "def parse_args(x):\n    def inner(): pass\nclass Parser:\n    pass\ndef _private(): pass\n";
        assert_eq!(
            exported_names("python", py),
            ["parseargs", "parser"].map(str::to_owned).into()
        );
        let js = "export function parseArgs() {}\nexport default class Parser {}\nfunction helper() {}\nfunction internal() {}\nexports.helper = helper;";
        assert_eq!(
            exported_names("javascript", js),
            ["helper", "parseargs", "parser"].map(str::to_owned).into()
        );
        let go = "func ParseArgs() {}\nfunc (p *Parser) Run() {}\nfunc helper() {}\ntype Parser struct{}";
        assert_eq!(
            exported_names("go", go),
            ["parseargs", "parser", "run"].map(str::to_owned).into()
        );
        let rs = "pub fn parse_args() {}\nfn private() {}\npub struct Parser;";
        assert_eq!(
            exported_names("rust", rs),
            ["parseargs", "parser"].map(str::to_owned).into()
        );
        let java = "public class Parser {\n  public static String parseArgs(String[] a) {}\n  private void x() {}\n}";
        assert_eq!(
            exported_names("java", java),
            ["parseargs", "parser"].map(str::to_owned).into()
        );
    }

    #[test]
    fn readme_code_blocks_show_the_api() {
        // Parsed: a call inside a string or a comment is not a call.
        let readme = "Intro text call(me)\n```python\nclient = Client()\nclient.get_user(1)  # or fetch_all()\nprint(\"not_this(x)\")\n```\n\n\
            ```js\nconst c = new Fetcher({ retries: 2 });\nawait c.getJson(url).then(render);\n```\n\n\
            ```go\nresp, err := pkg.DoRequest(ctx)\n```\n\n\
            ```\n$ mytool --run(fast)\n```\n";
        assert_eq!(
            readme_api_names(readme),
            [
                "client",
                "getuser",
                "fetcher",
                "getjson",
                "then",
                "dorequest",
                "run"
            ]
            .map(str::to_owned)
            .into()
        );
    }
}
