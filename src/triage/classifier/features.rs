//! Turning prepared issue text into a sparse TF-IDF vector: the per-block vocabularies with
//! their IDF, and the repository copies of every feature (a repository's own vocabulary habits
//! learn their own weights; an unknown repository only gets the shared ones).

use super::text::{Block, PreparedText};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// A sparse vector: `(feature index, value)` sorted by index, each index once.
pub type SparseVec = Vec<(u32, f32)>;

/// How one block is built and weighted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BlockSpec {
    /// Which block.
    pub block: Block,
    /// The block's share of the vector: its TF-IDF part is L2-normalized, then scaled by this.
    pub weight: f32,
    /// Tokens seen in fewer training issues than this are left out.
    pub min_df: u32,
    /// At most this many tokens (the most frequent) are kept.
    pub max_features: u32,
}

/// The features the model reads: its blocks and whether each repository gets its own copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// The blocks, in vector order.
    pub blocks: Vec<BlockSpec>,
    /// The scale of the copy of every feature that each repository seen in training gets
    /// (0: no copies). Below 1, the shared weights keep most of the signal, which is what an
    /// issue from a repository the model never saw is scored on.
    pub repo_copy_weight: f32,
}

impl Default for FeatureConfig {
    /// The configuration chosen by cross-validation on the NLBSE 2024 training issues.
    fn default() -> Self {
        let spec = |block, weight, min_df, max_features| BlockSpec {
            block,
            weight,
            min_df,
            max_features,
        };
        FeatureConfig {
            blocks: vec![
                spec(Block::TitleWords, 1.0, 2, 20_000),
                spec(Block::TitleChars, 0.7, 2, 20_000),
                spec(Block::BodyWords, 1.0, 2, 20_000),
                spec(Block::BodyChars, 1.0, 5, 30_000),
                spec(Block::Headings, 1.5, 2, 5_000),
                spec(Block::Markers, 1.0, 1, 100),
                spec(Block::Structure, 0.5, 2, 5_000),
            ],
            repo_copy_weight: 0.5,
        }
    }
}

/// One block's vocabulary: token → local index, and each token's IDF.
#[derive(Debug, Clone)]
pub struct BlockVocab {
    /// How the block is built.
    pub spec: BlockSpec,
    index: FxHashMap<Box<str>, u32>,
    /// The tokens by local index.
    pub tokens: Vec<String>,
    /// Smoothed IDF by local index: `ln((1 + n) / (1 + df)) + 1`.
    pub idf: Vec<f32>,
    /// Where the block starts in the shared feature space.
    pub offset: u32,
}

/// Every block's vocabulary and the repositories with their own feature copies. The feature
/// space is `[shared | repository 0 | repository 1 | …]`, each part `base_len()` wide.
#[derive(Debug, Clone)]
pub struct Vectorizer {
    /// The blocks, in vector order.
    pub blocks: Vec<BlockVocab>,
    /// Repositories with their own copy, lowercase `owner/name`.
    pub repos: Vec<String>,
    /// The scale of the repository copies.
    pub copy_weight: f32,
}

/// Every text's tokens counted once per block, each token an id of the block's interner. A
/// training fits many vocabularies (each fold's and inner fold's) over subsets of the same
/// texts: they read these counts instead of tokenizing every text again.
#[derive(Debug, Clone)]
pub struct CountedTexts {
    /// Per block of the configuration, its tokens by id.
    tokens: Vec<Vec<Box<str>>>,
    /// Per text, per block, `(token id, count)` sorted by id.
    counts: Vec<Vec<Vec<(u32, u32)>>>,
}

/// Each id of `hits` once with how many times it occurs, by id.
fn count_runs(hits: &mut [u32]) -> impl Iterator<Item = (u32, u32)> + '_ {
    hits.sort_unstable();
    hits.chunk_by(|a, b| a == b)
        .map(|run| (run[0], run.len() as u32))
}

impl CountedTexts {
    /// Counts the tokens of every block of `config` in each of `texts`.
    pub fn new(config: &FeatureConfig, texts: &[&PreparedText]) -> Self {
        let mut tokens = Vec::with_capacity(config.blocks.len());
        let mut counts: Vec<Vec<Vec<(u32, u32)>>> = texts.iter().map(|_| Vec::new()).collect();
        for spec in &config.blocks {
            let mut ids: FxHashMap<Box<str>, u32> = FxHashMap::default();
            let mut by_id: Vec<Box<str>> = Vec::new();
            let mut hits: Vec<u32> = Vec::new();
            for (text, counted) in texts.iter().zip(&mut counts) {
                hits.clear();
                text.tokens(spec.block, &mut |t| {
                    let id = match ids.get(t) {
                        Some(&id) => id,
                        None => {
                            let id = by_id.len() as u32;
                            by_id.push(t.into());
                            ids.insert(t.into(), id);
                            id
                        }
                    };
                    hits.push(id);
                });
                counted.push(count_runs(&mut hits).collect());
            }
            tokens.push(by_id);
        }
        CountedTexts { tokens, counts }
    }
}

impl BlockVocab {
    /// Appends the block's part of a vector to `out`: each `(local index, count)` (sorted by
    /// index) as `1 + ln(count)` times its IDF, L2-normalized and scaled by the block weight.
    fn push_weighted(&self, counts: &[(u32, u32)], out: &mut SparseVec) {
        let start = out.len();
        let mut norm = 0.0f32;
        for &(local, count) in counts {
            let value = (1.0 + (count as f32).ln()) * self.idf[local as usize];
            norm += value * value;
            out.push((self.offset + local, value));
        }
        if norm > 0.0 {
            let scale = self.spec.weight / norm.sqrt();
            out[start..].iter_mut().for_each(|(_, v)| *v *= scale);
        }
    }

    /// A block vocabulary from its tokens and IDF (as stored in a model file).
    pub fn new(spec: BlockSpec, tokens: Vec<String>, idf: Vec<f32>, offset: u32) -> Self {
        let index = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str().into(), i as u32))
            .collect();
        BlockVocab {
            spec,
            index,
            tokens,
            idf,
            offset,
        }
    }
}

impl Vectorizer {
    /// Builds the vocabularies from training issues (`repos` per issue, lowercase or `None`).
    pub fn fit(config: &FeatureConfig, texts: &[&PreparedText], repos: &[Option<String>]) -> Self {
        let counted = CountedTexts::new(config, texts);
        let rows: Vec<usize> = (0..texts.len()).collect();
        Vectorizer::fit_counted(config, &counted, &rows, repos).0
    }

    /// Builds the vocabularies from the training issues at `rows` of `counted` (`repos` per
    /// row); with, per block, each token id's local index (`u32::MAX` when left out), for
    /// [`Vectorizer::transform_counted`].
    pub fn fit_counted(
        config: &FeatureConfig,
        counted: &CountedTexts,
        rows: &[usize],
        repos: &[Option<String>],
    ) -> (Self, Vec<Vec<u32>>) {
        let n = rows.len() as f64;
        let mut offset = 0u32;
        let mut blocks = Vec::new();
        let mut locals = Vec::new();
        for (b, spec) in config.blocks.iter().enumerate() {
            let names = &counted.tokens[b];
            // Document frequency and total count of every token.
            let mut stats = vec![(0u32, 0u32); names.len()];
            for &row in rows {
                for &(id, count) in &counted.counts[row][b] {
                    let entry = &mut stats[id as usize];
                    entry.0 += 1;
                    entry.1 += count;
                }
            }
            let mut kept: Vec<(u32, u32, u32)> = (stats.iter().enumerate())
                .filter(|(_, (df, _))| *df >= spec.min_df.max(1))
                .map(|(id, &(df, total))| (id as u32, df, total))
                .collect();
            // Most frequent first, ties by token, so the vocabulary is deterministic.
            let name = |id: u32| &*names[id as usize];
            kept.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| name(a.0).cmp(name(b.0))));
            kept.truncate(spec.max_features as usize);
            kept.sort_by(|a, b| name(a.0).cmp(name(b.0)));
            let idf = kept
                .iter()
                .map(|(_, df, _)| (((1.0 + n) / (1.0 + f64::from(*df))).ln() + 1.0) as f32)
                .collect();
            let mut local = vec![u32::MAX; names.len()];
            for (i, (id, _, _)) in kept.iter().enumerate() {
                local[*id as usize] = i as u32;
            }
            let tokens: Vec<String> = kept.iter().map(|(id, _, _)| name(*id).to_owned()).collect();
            let len = tokens.len() as u32;
            blocks.push(BlockVocab::new(*spec, tokens, idf, offset));
            locals.push(local);
            offset += len;
        }
        let mut known: Vec<String> = if config.repo_copy_weight > 0.0 {
            repos.iter().flatten().cloned().collect()
        } else {
            Vec::new()
        };
        known.sort();
        known.dedup();
        let vectorizer = Vectorizer {
            blocks,
            repos: known,
            copy_weight: config.repo_copy_weight,
        };
        (vectorizer, locals)
    }

    /// The width of the shared part of the feature space.
    pub fn base_len(&self) -> u32 {
        self.blocks
            .last()
            .map_or(0, |b| b.offset + b.tokens.len() as u32)
    }

    /// The width of the whole feature space (shared part and every repository copy).
    pub fn len(&self) -> u32 {
        self.base_len() * (1 + self.repos.len() as u32)
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.base_len() == 0
    }

    /// The index of a repository's copy, if it has one.
    pub fn repo_index(&self, repo: Option<&str>) -> Option<usize> {
        let repo = repo?.to_ascii_lowercase();
        self.repos.binary_search(&repo).ok()
    }

    /// The TF-IDF vector of an issue: per block, `1 + ln(count)` times IDF, L2-normalized and
    /// scaled by the block weight; repeated in the repository's copy when it has one.
    pub fn transform(&self, text: &PreparedText, repo: Option<usize>) -> SparseVec {
        let mut shared: SparseVec = Vec::new();
        let mut hits: Vec<u32> = Vec::new();
        let mut counts: Vec<(u32, u32)> = Vec::new();
        for vocab in &self.blocks {
            hits.clear();
            text.tokens(vocab.spec.block, &mut |t| {
                if let Some(&i) = vocab.index.get(t) {
                    hits.push(i);
                }
            });
            counts.clear();
            counts.extend(count_runs(&mut hits));
            vocab.push_weighted(&counts, &mut shared);
        }
        self.with_repo_copy(shared, repo)
    }

    /// [`Vectorizer::transform`] of the text at `row` of `counted`, the vocabularies fitted
    /// by [`Vectorizer::fit_counted`] on the same counts (`locals` is its second part).
    pub fn transform_counted(
        &self,
        counted: &CountedTexts,
        locals: &[Vec<u32>],
        row: usize,
        repo: Option<usize>,
    ) -> SparseVec {
        let mut shared: SparseVec = Vec::new();
        let mut counts: Vec<(u32, u32)> = Vec::new();
        for ((vocab, local), text) in self.blocks.iter().zip(locals).zip(&counted.counts[row]) {
            counts.clear();
            counts.extend(
                text.iter()
                    .map(|&(id, count)| (local[id as usize], count))
                    .filter(|&(i, _)| i != u32::MAX),
            );
            counts.sort_unstable();
            vocab.push_weighted(&counts, &mut shared);
        }
        self.with_repo_copy(shared, repo)
    }

    /// `shared` followed by its copy in the repository's part of the space, when it has one.
    fn with_repo_copy(&self, mut shared: SparseVec, repo: Option<usize>) -> SparseVec {
        if let Some(r) = repo {
            let shift = self.base_len() * (1 + r as u32);
            let scale = self.copy_weight;
            let copy: Vec<(u32, f32)> = shared
                .iter()
                .map(|&(i, v)| (i + shift, v * scale))
                .collect();
            shared.extend(copy);
        }
        shared
    }

    /// The position in `blocks` of the block a feature index (shared or a repository copy)
    /// belongs to.
    pub fn block_of(&self, index: u32) -> usize {
        let local = index % self.base_len().max(1);
        self.blocks
            .iter()
            .rposition(|b| b.offset <= local)
            .expect("every index falls in a block")
    }

    /// What a feature index stands for: `block:token`, with `@repo` for a repository copy.
    pub fn describe(&self, index: u32) -> String {
        let base = self.base_len().max(1);
        let (part, local) = (index / base, index % base);
        let block = &self.blocks[self.block_of(index)];
        let token = &block.tokens[(local - block.offset) as usize];
        let name = serde_json::to_value(block.spec.block)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        match part.checked_sub(1).and_then(|r| self.repos.get(r as usize)) {
            Some(repo) => format!("{name}:{token:?}@{repo}"),
            None => format!("{name}:{token:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FeatureConfig {
        FeatureConfig {
            blocks: vec![BlockSpec {
                block: Block::TitleWords,
                weight: 1.0,
                min_df: 1,
                max_features: 100,
            }],
            repo_copy_weight: 0.5,
        }
    }

    #[test]
    fn blocks_are_l2_normalized_and_copied_for_known_repositories() {
        let texts = [
            PreparedText::new("crash on start", ""),
            PreparedText::new("add dark mode", ""),
        ];
        let repos = [Some("a/b".to_owned()), None];
        let vectorizer = Vectorizer::fit(&config(), &[&texts[0], &texts[1]], &repos);
        assert_eq!(vectorizer.repos, ["a/b"]);
        let shared = vectorizer.transform(&texts[0], None);
        let norm: f32 = shared.iter().map(|(_, v)| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        let copied = vectorizer.transform(&texts[0], vectorizer.repo_index(Some("A/B")));
        assert_eq!(copied.len(), 2 * shared.len());
        assert_eq!(copied[shared.len()].1, 0.5 * shared[0].1);
        assert!(copied[shared.len()].0 >= vectorizer.base_len());
        assert!(
            vectorizer
                .describe(copied[shared.len()].0)
                .ends_with("@a/b")
        );
    }

    #[test]
    fn rare_tokens_are_dropped_by_min_df() {
        let mut cfg = config();
        cfg.blocks[0].min_df = 2;
        let texts = [
            PreparedText::new("crash now", ""),
            PreparedText::new("crash later", ""),
        ];
        let vectorizer = Vectorizer::fit(&cfg, &[&texts[0], &texts[1]], &[None, None]);
        assert_eq!(vectorizer.blocks[0].tokens, ["crash"]);
    }

    #[test]
    fn vocabularies_fitted_on_counted_rows_are_those_fitted_on_the_texts() {
        let texts = [
            PreparedText::new("Crash on start", "It crashes on start.\n\n### Version\n1.2"),
            PreparedText::new(
                "Add dark mode",
                "Please add a dark mode to the settings page.",
            ),
            PreparedText::new("Crash in settings", "Traceback: settings crash on save"),
            PreparedText::new("How do I start?", "How do I start the dark mode?"),
            PreparedText::new("Settings page crash", "The settings page crashes on start."),
        ];
        let refs: Vec<&PreparedText> = texts.iter().collect();
        let cfg = FeatureConfig {
            blocks: FeatureConfig::default()
                .blocks
                .into_iter()
                .map(|b| BlockSpec {
                    min_df: b.min_df.min(2),
                    max_features: 40,
                    ..b
                })
                .collect(),
            repo_copy_weight: 0.5,
        };
        let rows = [0, 2, 3, 4];
        let repos = vec![Some("a/b".to_owned()), None, Some("c/d".to_owned()), None];
        let subset: Vec<&PreparedText> = rows.iter().map(|&i| &texts[i]).collect();
        let direct = Vectorizer::fit(&cfg, &subset, &repos);
        let counted = CountedTexts::new(&cfg, &refs);
        let (from_counts, locals) = Vectorizer::fit_counted(&cfg, &counted, &rows, &repos);
        for (a, b) in direct.blocks.iter().zip(&from_counts.blocks) {
            assert_eq!((&a.tokens, &a.idf, a.offset), (&b.tokens, &b.idf, b.offset));
        }
        assert!(
            direct.blocks[1].tokens.len() == 40,
            "max_features cuts the title's character n-grams"
        );
        assert_eq!(direct.repos, from_counts.repos);
        // Every text, the one left out of the vocabulary too, gets the same vector.
        for (row, text) in texts.iter().enumerate() {
            for repo in [None, Some(1)] {
                assert_eq!(
                    direct.transform(text, repo),
                    from_counts.transform_counted(&counted, &locals, row, repo),
                    "text {row}"
                );
            }
        }
    }
}
