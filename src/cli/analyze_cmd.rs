//! `globallm analyze --graph EDGES.tsv` (`--repo` is in `analyze_repo.rs`): PageRank, betweenness, downstream reach and in-degree
//! of every node of an edge list, as a TSV, with the time of each phase on stderr — so the
//! metrics can be checked against other tools and timed on any graph.

use crate::analysis::{self, Graph, PageRankOptions, Pivots, ReachMethod};
use anyhow::Context as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Above this many node × edge visits, exact betweenness (O(N·E)) takes minutes to hours:
/// `analyze` then asks for `--k` instead of silently running that long.
const EXACT_BETWEENNESS_LIMIT: f64 = 5e10;

/// `globallm analyze …`: what to analyze. `--graph` is one member of the `subject` group, so
/// other subjects (a repository) can join it as mutually exclusive alternatives.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("subject").required(true).args(["graph", "repo"]))]
pub struct AnalyzeArgs {
    /// A repository (owner/name): what discovery measured (health with every signal, impact,
    /// trend, top issues), else a live read-only look
    #[arg(long, value_name = "OWNER/NAME")]
    repo: Option<String>,
    /// An edge list: one `dependent<TAB>dependency` pair per line (node ids are strings;
    /// blank lines and lines starting with `#` are skipped)
    #[arg(long, value_name = "EDGES.tsv")]
    graph: Option<PathBuf>,
    /// Write the metrics to this file instead of stdout
    #[arg(long, value_name = "METRICS.tsv", requires = "graph")]
    out: Option<PathBuf>,
    /// Betweenness from N pivots sampled as networkx's `k` (default: every node, exact)
    #[arg(long, value_name = "N", requires = "graph")]
    k: Option<usize>,
    /// Seed of the pivot sample: the same seed picks the same pivots as networkx's `seed`
    #[arg(long, value_name = "S", default_value_t = 0, requires = "k")]
    seed: u64,
    /// How downstream reach is counted: exact when affordable, or always exact or estimated
    #[arg(long, value_enum, default_value_t = ReachArg::Auto, requires = "graph")]
    reach: ReachArg,
}

impl AnalyzeArgs {
    /// Whether a repository (not a graph) is analyzed.
    pub fn is_repo(&self) -> bool {
        self.repo.is_some()
    }
}

/// `--reach`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ReachArg {
    /// Exact unless it would take more than a couple of seconds, then estimated
    Auto,
    /// Always exact (a transitive closure: hours on millions of nodes)
    Exact,
    /// Always estimated with HyperLogLog sketches (±6.5 % on large reaches)
    Estimate,
}

/// Runs `analyze`.
pub async fn run(sources: &crate::config::Sources, args: &AnalyzeArgs) -> anyhow::Result<()> {
    if let Some(repo) = &args.repo {
        let ctx = super::context(sources).await?;
        let text = if super::analyze_repo::has_snapshot(&ctx.db, repo).await? {
            super::analyze_repo::render(&ctx.db, &ctx.config(), repo).await?
        } else {
            let name: crate::github::ids::RepoName = repo.parse().map_err(anyhow::Error::msg)?;
            super::analyze_repo::render_live(&ctx, &name).await?
        };
        print!("{text}");
        return Ok(());
    }
    let Some(path) = &args.graph else {
        anyhow::bail!("nothing to analyze: pass --graph EDGES.tsv or --repo OWNER/NAME");
    };
    analyze_graph(path, args)
}

fn analyze_graph(path: &Path, args: &AnalyzeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let graph = analysis::read_edge_list(path)
        .with_context(|| format!("reading the edge list {}", path.display()))?;
    let (n, e) = (graph.node_count(), graph.edge_count());
    eprintln!(
        "read: {n} nodes, {e} distinct edges in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let pivots = pivots(&graph, args)?;

    let method = match args.reach {
        ReachArg::Auto => ReachMethod::Auto,
        ReachArg::Exact => ReachMethod::Exact,
        ReachArg::Estimate => ReachMethod::Estimate,
    };
    // Reach is mostly one sequential sweep: it runs beside PageRank and betweenness, whose
    // sources the other core takes over when it is done.
    let phase = Instant::now();
    let (centrality, (reach, reach_time)) = rayon::join(
        || {
            let started = Instant::now();
            let rank = analysis::pagerank(&graph, &PageRankOptions::default())
                .with_context(|| format!("PageRank of {}", path.display()))?;
            let rank_time = started.elapsed();
            let started = Instant::now();
            let between = analysis::betweenness(&graph, &pivots)
                .with_context(|| format!("betweenness of {}", path.display()))?;
            anyhow::Ok(((rank, rank_time), (between, started.elapsed())))
        },
        || {
            let started = Instant::now();
            (
                analysis::downstream_reach(&graph, method),
                started.elapsed(),
            )
        },
    );
    let ((rank, rank_time), (between, between_time)) = centrality?;
    eprintln!(
        "pagerank: {} iterations in {:.3} s",
        rank.iterations,
        rank_time.as_secs_f64()
    );
    match &between.pivots {
        Some(p) => eprintln!(
            "betweenness: {} pivots (seed {}) in {:.3} s",
            p.len(),
            args.seed,
            between_time.as_secs_f64()
        ),
        None => eprintln!("betweenness: exact in {:.3} s", between_time.as_secs_f64()),
    }
    eprintln!(
        "reach: {} ({} strongly connected components) in {:.3} s",
        if reach.exact {
            "exact"
        } else {
            "estimated with HyperLogLog, ±6.5 %"
        },
        reach.components,
        reach_time.as_secs_f64()
    );
    eprintln!(
        "metrics: {:.3} s (reach alongside PageRank and betweenness)",
        phase.elapsed().as_secs_f64()
    );

    let phase = Instant::now();
    let in_degrees = graph.in_degrees();
    eprintln!("in-degree: {:.3} s", phase.elapsed().as_secs_f64());

    let phase = Instant::now();
    let columns = Columns {
        graph: &graph,
        pagerank: &rank.scores,
        betweenness: &between.scores,
        reach: &reach.counts,
        in_degree: &in_degrees,
    };
    match &args.out {
        Some(out) => {
            let file = std::fs::File::create(out)
                .with_context(|| format!("creating {}", out.display()))?;
            columns
                .write(BufWriter::with_capacity(1 << 20, file))
                .with_context(|| format!("writing {}", out.display()))?;
        }
        None => columns
            .write(BufWriter::with_capacity(1 << 20, std::io::stdout().lock()))
            .context("writing the metrics to stdout")?,
    }
    eprintln!("write: {:.3} s", phase.elapsed().as_secs_f64());
    eprintln!("total: {:.3} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The pivots `--k` asks for; refuses exact betweenness where it would run for hours.
fn pivots(graph: &Graph, args: &AnalyzeArgs) -> anyhow::Result<Pivots> {
    if let Some(k) = args.k {
        return Ok(Pivots::Sample { k, seed: args.seed });
    }
    let (n, e) = (graph.node_count(), graph.edge_count());
    let visits = n as f64 * e as f64;
    if visits > EXACT_BETWEENNESS_LIMIT {
        anyhow::bail!(
            "exact betweenness of {n} nodes and {e} edges needs about {visits:.0e} edge visits \
             (hours); pass --k 256 to sample 256 pivots, or --k {n} to insist on the exact value"
        );
    }
    Ok(Pivots::All)
}

/// The output table, one row per node in index order (the order of first appearance).
struct Columns<'a> {
    graph: &'a Graph,
    pagerank: &'a [f64],
    betweenness: &'a [f64],
    reach: &'a [u32],
    in_degree: &'a [usize],
}

impl Columns<'_> {
    fn write(&self, mut out: impl Write) -> std::io::Result<()> {
        writeln!(out, "node\tpagerank\tbetweenness\treach\tin_degree")?;
        for v in 0..self.graph.node_count() {
            // `{}` prints the shortest decimal that reads back as the same f64.
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}",
                self.graph.name(v as u32),
                self.pagerank[v],
                self.betweenness[v],
                self.reach[v],
                self.in_degree[v]
            )?;
        }
        out.flush()
    }
}
