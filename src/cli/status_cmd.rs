//! `globallm status [--json] [--dashboard]`: what GlobalLM spends and achieves — once as
//! plain text (no terminal codes, fine over SSH and in a pipe), as JSON, or as a live terminal
//! dashboard refreshing every two seconds (`q` quits).

use crate::config::Sources;
use crate::monitoring::dashboard::{self, Snapshot};
use std::io::IsTerminal as _;
use std::time::Duration;

/// `globallm status …`
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// A live dashboard in the terminal (`q` to quit)
    #[arg(long, conflicts_with = "json")]
    dashboard: bool,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// Runs `status`.
pub async fn run(sources: &Sources, args: &StatusArgs) -> anyhow::Result<()> {
    let ctx = super::context(sources).await?;
    let read = || async { dashboard::snapshot(&ctx.db, &ctx.config(), ctx.clock.now_ms()).await };
    if args.dashboard {
        if !std::io::stdout().is_terminal() {
            anyhow::bail!(
                "--dashboard needs a terminal; run `globallm status` (or `--json`) in a pipe"
            );
        }
        return live(read).await;
    }
    let snapshot = read().await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&snapshot)?);
    } else {
        print!("{}", dashboard::render_text(&snapshot));
    }
    Ok(())
}

async fn live<F, Fut>(read: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Snapshot>>,
{
    let mut terminal = ratatui::init();
    let result = async {
        loop {
            let snapshot = read().await?;
            terminal.draw(|frame| draw(frame, &snapshot))?;
            // Wait up to two seconds for a key, without blocking the runtime.
            let quit = tokio::task::spawn_blocking(|| -> std::io::Result<bool> {
                use ratatui::crossterm::event::{self, Event, KeyCode, KeyModifiers};
                if event::poll(Duration::from_secs(2))?
                    && let Event::Key(key) = event::read()?
                {
                    return Ok(matches!(key.code, KeyCode::Char('q') | KeyCode::Esc)
                        || (key.code == KeyCode::Char('c')
                            && key.modifiers.contains(KeyModifiers::CONTROL)));
                }
                Ok(false)
            })
            .await??;
            if quit {
                return anyhow::Ok(());
            }
        }
    }
    .await;
    ratatui::restore();
    result
}

fn draw(frame: &mut ratatui::Frame<'_>, snapshot: &Snapshot) {
    use ratatui::layout::{Constraint, Layout};
    use ratatui::style::{Modifier, Style};
    use ratatui::widgets::{Block, Borders, Cell, Gauge, List, ListItem, Row, Table};
    let [budget, repos, queue, merges, events] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(6),
        Constraint::Length(3),
        Constraint::Length(6),
        Constraint::Min(5),
    ])
    .areas(frame.area());
    let b = &snapshot.budget;
    let title = format!(
        " Budget Used: {} / {} tokens ({:.1}%) · ${:.2} · q quits ",
        dashboard::thousands(b.used),
        dashboard::thousands(b.total),
        b.percent,
        b.cost_usd
    );
    frame.render_widget(
        Gauge::default()
            .block(Block::default().borders(Borders::ALL).title(title))
            .ratio((b.percent / 100.0).clamp(0.0, 1.0)),
        budget,
    );
    let rows = snapshot.repos.iter().map(|r| {
        Row::new([
            Cell::from(r.repo.clone()),
            Cell::from(r.issues.to_string()),
            Cell::from(r.prs.to_string()),
            Cell::from(r.merged.to_string()),
            Cell::from(r.impact.map_or("–".to_owned(), |i| format!("{i:.1}"))),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Fill(3),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(8),
        ],
    )
    .header(
        Row::new(["Repository", "Issues", "PRs", "Merged", "Impact"])
            .style(Style::default().add_modifier(Modifier::BOLD)),
    )
    .block(
        Block::default()
            .borders(Borders::ALL)
            .title(" Repositories "),
    );
    frame.render_widget(table, repos);
    let q = snapshot.queue;
    frame.render_widget(
        ratatui::widgets::Paragraph::new(format!(
            "{} pending · {} scheduled · {} running · {} dead",
            q.ready, q.scheduled, q.running, q.dead
        ))
        .block(Block::default().borders(Borders::ALL).title(" Job queue ")),
        queue,
    );
    frame.render_widget(
        List::new(merge_lines(snapshot).into_iter().map(ListItem::new)).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Merges: what merges itself, what waits "),
        ),
        merges,
    );
    let items: Vec<ListItem<'_>> = snapshot
        .events
        .iter()
        .map(|e| ListItem::new(format!("{}  {:<8} {}", e.at, e.kind, e.text)))
        .collect();
    frame.render_widget(
        List::new(items).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Recent events "),
        ),
        events,
    );
}

/// The merges panel: each repository's ceiling, then the pull requests waiting to merge in
/// order.
fn merge_lines(snapshot: &Snapshot) -> Vec<String> {
    let ceilings = snapshot.outcomes.ceilings.iter().map(|c| {
        format!(
            "{}: merges itself up to {} ({}/{} toward next) — {}",
            c.repo, c.ceiling, c.clean, c.promote_after, c.why
        )
    });
    let waits = snapshot.merge_waits.iter().map(|w| {
        format!(
            "{} {}. {} (issue #{}) waits: {}{}",
            w.repo,
            w.place,
            w.pr.map_or("?".to_owned(), |n| format!("#{n}")),
            w.issue,
            w.reason,
            w.detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        )
    });
    let lines: Vec<String> = ceilings.chain(waits).collect();
    if lines.is_empty() {
        vec!["(no GlobalLM pull requests yet)".to_owned()]
    } else {
        lines
    }
}
