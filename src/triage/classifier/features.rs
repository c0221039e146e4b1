//! Turning prepared issue text into a sparse TF-IDF vector: the per-block vocabularies with
//! their IDF, and the repository copies of every feature (a repository's own vocabulary habits
//! learn their own weights; an unknown repository only gets the shared ones).

use super::text::{Block, PreparedText};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

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

impl BlockVocab {
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
        let n = texts.len() as f64;
        let mut offset = 0u32;
        let mut blocks = Vec::new();
        for spec in &config.blocks {
            // Document frequency and total count of every token.
            let mut stats: HashMap<String, (u32, u32)> = HashMap::new();
            for text in texts {
                let mut seen: HashMap<String, u32> = HashMap::new();
                text.tokens(spec.block, &mut |t| {
                    if let Some(count) = seen.get_mut(t) {
                        *count += 1;
                    } else {
                        seen.insert(t.to_owned(), 1);
                    }
                });
                for (token, count) in seen {
                    let entry = stats.entry(token).or_insert((0, 0));
                    entry.0 += 1;
                    entry.1 += count;
                }
            }
            let mut kept: Vec<(String, u32, u32)> = stats
                .into_iter()
                .filter(|(_, (df, _))| *df >= spec.min_df)
                .map(|(token, (df, total))| (token, df, total))
                .collect();
            // Most frequent first, ties by token, so the vocabulary is deterministic.
            kept.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
            kept.truncate(spec.max_features as usize);
            kept.sort_by(|a, b| a.0.cmp(&b.0));
            let idf = kept
                .iter()
                .map(|(_, df, _)| (((1.0 + n) / (1.0 + f64::from(*df))).ln() + 1.0) as f32)
                .collect();
            let tokens: Vec<String> = kept.into_iter().map(|(token, _, _)| token).collect();
            let len = tokens.len() as u32;
            blocks.push(BlockVocab::new(*spec, tokens, idf, offset));
            offset += len;
        }
        let mut known: Vec<String> = if config.repo_copy_weight > 0.0 {
            repos.iter().flatten().cloned().collect()
        } else {
            Vec::new()
        };
        known.sort();
        known.dedup();
        Vectorizer {
            blocks,
            repos: known,
            copy_weight: config.repo_copy_weight,
        }
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
        for vocab in &self.blocks {
            hits.clear();
            text.tokens(vocab.spec.block, &mut |t| {
                if let Some(&i) = vocab.index.get(t) {
                    hits.push(i);
                }
            });
            hits.sort_unstable();
            let start = shared.len();
            let mut norm = 0.0f32;
            for run in hits.chunk_by(|a, b| a == b) {
                let local = run[0];
                let value = (1.0 + (run.len() as f32).ln()) * vocab.idf[local as usize];
                norm += value * value;
                shared.push((vocab.offset + local, value));
            }
            if norm > 0.0 {
                let scale = vocab.spec.weight / norm.sqrt();
                shared[start..].iter_mut().for_each(|(_, v)| *v *= scale);
            }
        }
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
}
