//! `reconcile review [SPEC]`: settle uncertain pairs. On a terminal it walks the pairs of the
//! review band (and, on request, the weakest links and the strongest pairs left apart), one
//! screen each, and appends every decision to the labels file at once: `s` same, `d` distinct,
//! `u` unsure, `b` back, `q` quit. Without a terminal, `--json` prints the pairs to decide and
//! `--apply FILE` records decisions made elsewhere. The spec file is never edited: when it does
//! not read the labels file yet, the line to add is printed.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::{SpecArgs, find_spec};
use crate::collections::{HashMap, HashSet};
use crate::error::{Error, Result};
use crate::labels::{self, Label, Row};
use crate::render::review::{self as view, Place};
use crate::review::{self, Pair};
use crate::spec::compiled::Compiled;
use crate::spec::load::{self, MissingLabels};
use crate::{matching, source};

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The spec file, or a folder holding one spec (as `-f`).
    #[arg(value_name = "SPEC")]
    pub path: Option<PathBuf>,
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Also put to you the N links with the lowest scores.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub weakest: usize,
    /// Also put to you the N pairs left unlinked with the highest scores.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub strongest: usize,
    /// Print the pairs to decide as JSON (both records' values, each comparison's evidence,
    /// the score and why each is listed) instead of asking on the terminal. Fill in each
    /// `label` and give the file to `--apply`.
    #[arg(long, conflicts_with = "apply")]
    pub json: bool,
    /// Record the decisions in FILE: a JSON array of `{"left", "right", "label"}`, the output
    /// of `--json` with labels filled in, or a CSV file with the header `left,right,label`.
    #[arg(long, value_name = "FILE")]
    pub apply: Option<PathBuf>,
}

fn problem(message: impl Into<String>, help: Option<String>) -> Error {
    Error::Review {
        message: message.into(),
        help,
    }
}

/// Where decisions go: the file the spec names, else the default beside the spec.
struct Target {
    file: PathBuf,
    /// The spec reads it (`match.labels`).
    named: bool,
}

impl Target {
    fn of(spec: &Compiled) -> Target {
        match &spec.matching.labels {
            Some(file) => Target {
                file: file.clone(),
                named: true,
            },
            None => Target {
                file: spec
                    .file
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join(labels::DEFAULT_FILE),
                named: false,
            },
        }
    }

    /// What to tell a user whose spec does not read the file yet; empty when it does.
    fn hint(&self, spec: &Compiled) -> String {
        if self.named {
            return String::new();
        }
        format!(
            "The spec does not read {} yet, so `reconcile plan` ignores these decisions. Add \
             to {}:\n\n{}\n",
            self.file.display(),
            spec.file.display(),
            labels::spec_snippet(labels::DEFAULT_FILE)
        )
    }
}

pub fn run(args: ReviewArgs) -> Result<ExitCode> {
    let path = find_spec(args.path.as_ref().unwrap_or(&args.spec.file))?;
    let mut spec = load::load_with(&path, MissingLabels::Allow)?;
    args.spec.overrides().apply(&mut spec);
    let target = Target::of(&spec);
    if let Some(file) = &args.apply {
        return apply(&spec, &target, file);
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if !args.json && !interactive {
        return Err(problem(
            "there is no terminal to ask on",
            Some(
                "`reconcile review --json` prints the pairs to decide; fill in each `label` \
                 and record them with `reconcile review --apply FILE`"
                    .into(),
            ),
        ));
    }

    // Shown and scored as the matcher sees them (an invalid phone's digits included).
    let kept = crate::pipeline::matching_input(&spec)?.kept;
    let scored = matching::score_pairs(&spec.matching, &kept)?;
    let matches = scored.link(&kept);
    let mut pairs = review::pairs(
        &spec,
        &kept,
        &scored,
        &matches,
        args.weakest,
        args.strongest,
        &|r| crate::render::review::reason_words(&spec, &kept, r),
    );

    // Pairs decided in the file already are not asked again (the spec may not read it yet);
    // an `unsure` one is, showing that it was.
    let earlier = decisions_in(&target.file)?;
    let before = pairs.len();
    pairs.retain(|p| !matches!(earlier.get(&p.key()), Some(Label::Same | Label::Distinct)));
    let skipped = before - pairs.len();

    if args.json {
        let text = view::to_json(
            &spec,
            target.file.display().to_string(),
            target.named,
            &pairs,
        );
        print(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let already = if skipped > 0 {
        format!(
            " ({skipped} already decided in {} {} left out)",
            target.file.display(),
            if skipped == 1 { "is" } else { "are" }
        )
    } else {
        String::new()
    };
    if pairs.is_empty() {
        print(&format!(
            "Nothing to review: no pair scored between the review band ({}) and the threshold \
             ({}){already}. `--weakest N` and `--strongest N` put the weakest links and the \
             strongest pairs left apart to you.\n",
            spec.matching.review, spec.matching.threshold
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let made = walk(&spec, &target.file, &pairs, &earlier)?;
    print(&summary(&spec, &target, &made, &already))?;
    Ok(ExitCode::SUCCESS)
}

fn print(text: &str) -> Result<()> {
    let mut out = anstream::stdout();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::Io(format!("cannot write the output: {e}")))
}

/// The decision in force for each pair of the labels file (none when it does not exist).
fn decisions_in(file: &Path) -> Result<HashMap<(String, String), Label>> {
    let text = labels::read(file)
        .map_err(|e| problem(format!("cannot read {}: {e}", file.display()), None))?;
    let Some(text) = text else {
        return Ok(HashMap::default());
    };
    let rows = labels::parse(&text)
        .map_err(|p| labels::problems_error(&file.display().to_string(), &text, p))?;
    Ok(labels::in_force(&rows)
        .into_iter()
        .map(|r| {
            let (a, b) = r.pair();
            ((a.to_string(), b.to_string()), r.label)
        })
        .collect())
}

/// What happened in a session, for the closing lines.
fn summary(spec: &Compiled, target: &Target, made: &[Row], already: &str) -> String {
    if made.is_empty() {
        return format!("No decision recorded{already}.\n{}", target.hint(spec));
    }
    let count = |l: Label| made.iter().filter(|r| r.label == l).count();
    format!(
        "Recorded {} in {}: {} same, {} distinct, {} unsure{already}.\n{}",
        crate::error::plural(made.len(), "decision"),
        target.file.display(),
        count(Label::Same),
        count(Label::Distinct),
        count(Label::Unsure),
        if target.named {
            "`reconcile plan` shows what they change.\n".to_string()
        } else {
            target.hint(spec)
        }
    )
}

/// The terminal in raw mode on its alternate screen, given back as it was when dropped (also
/// when the session ends with an error).
struct Terminal;

impl Terminal {
    fn open() -> std::io::Result<Terminal> {
        crossterm::terminal::enable_raw_mode()?;
        let t = Terminal;
        crossterm::execute!(
            std::io::stdout(),
            crossterm::terminal::EnterAlternateScreen,
            crossterm::cursor::Hide
        )?;
        Ok(t)
    }

    fn draw(&self, lines: &[String]) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        crossterm::queue!(
            out,
            crossterm::terminal::Clear(crossterm::terminal::ClearType::All),
            crossterm::cursor::MoveTo(0, 0)
        )?;
        for line in lines {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\r\n")?;
        }
        out.flush()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = crossterm::execute!(
            std::io::stdout(),
            crossterm::cursor::Show,
            crossterm::terminal::LeaveAlternateScreen
        );
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// What a key asks for.
enum Key {
    Decide(Label),
    Back,
    Quit,
    Redraw,
}

fn next_key() -> std::io::Result<Key> {
    use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
    loop {
        match crossterm::event::read()? {
            Event::Key(k) if k.kind != KeyEventKind::Release => {
                let chord = k
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
                return Ok(match k.code {
                    // Ctrl-C, and Ctrl-D (end of input): leave.
                    KeyCode::Char('c' | 'd') if chord => Key::Quit,
                    // Any other chord is no decision: Ctrl-S must not say `same`.
                    KeyCode::Char(_) if chord => continue,
                    KeyCode::Char(c) => match c.to_ascii_lowercase() {
                        's' => Key::Decide(Label::Same),
                        'd' => Key::Decide(Label::Distinct),
                        'u' => Key::Decide(Label::Unsure),
                        'b' => Key::Back,
                        'q' => Key::Quit,
                        _ => continue,
                    },
                    KeyCode::Left | KeyCode::Backspace => Key::Back,
                    KeyCode::Esc => Key::Quit,
                    _ => continue,
                });
            }
            Event::Resize(..) => return Ok(Key::Redraw),
            _ => {}
        }
    }
}

fn terminal_error(e: std::io::Error) -> Error {
    problem(format!("cannot use the terminal: {e}"), None)
}

/// Asks about each pair in turn; returns the decisions made, each already in `file`.
fn walk(
    spec: &Compiled,
    file: &Path,
    pairs: &[Pair],
    earlier: &HashMap<(String, String), Label>,
) -> Result<Vec<Row>> {
    let terminal = Terminal::open().map_err(terminal_error)?;
    let mut decided: HashMap<(String, String), Label> = earlier.clone();
    let mut made = Vec::new();
    let mut index = 0;
    while index < pairs.len() {
        let pair = &pairs[index];
        let width = crossterm::terminal::size().map_or(100, |(w, _)| usize::from(w));
        let width = if width == 0 { 100 } else { width };
        let place = Place {
            index,
            total: pairs.len(),
        };
        terminal
            .draw(&view::screen(
                spec,
                pair,
                place,
                decided.get(&pair.key()).copied(),
                width,
            ))
            .map_err(terminal_error)?;
        match next_key().map_err(terminal_error)? {
            Key::Decide(label) => {
                let row = Row {
                    left: pair.left.reference.to_string(),
                    right: pair.right.reference.to_string(),
                    label,
                    time: Some(crate::time::now_rfc3339()),
                    line: 0,
                };
                labels::append(file, std::slice::from_ref(&row))
                    .map_err(|e| problem(format!("cannot write {}: {e}", file.display()), None))?;
                decided.insert(pair.key(), label);
                made.push(row);
                index += 1;
            }
            Key::Back => index = index.saturating_sub(1),
            Key::Quit => break,
            Key::Redraw => {}
        }
    }
    drop(terminal);
    Ok(made)
}

/// `review --apply FILE`: checks every decision against the spec's sources, then appends them
/// all to the labels file (or none, when one is wrong).
fn apply(spec: &Compiled, target: &Target, from: &Path) -> Result<ExitCode> {
    let text = std::fs::read_to_string(from)
        .map_err(|e| problem(format!("cannot read {}: {e}", from.display()), None))?;
    let rows = if text.trim_start().starts_with(['[', '{']) {
        from_json(&text, from)?
    } else {
        let check = |side: &str| labels::record_ref(spec, side).err();
        labels::parse_checked(&text, &check)
            .map_err(|p| labels::problems_error(&from.display().to_string(), &text, p))?
    };
    let raw = source::load_all(spec)?;
    let ids: Vec<HashSet<&str>> = raw
        .iter()
        .map(|records| records.iter().map(|r| r.id.as_str()).collect())
        .collect();
    let names: Vec<&str> = spec.sources.iter().map(|s| s.name.as_str()).collect();
    let place = |row: &Row, i: usize| {
        if row.line > 0 {
            format!("{}, line {}", from.display(), row.line)
        } else {
            format!("{}, decision {}", from.display(), i + 1)
        }
    };
    for (i, row) in rows.iter().enumerate() {
        for side in [&row.left, &row.right] {
            let (source, id) = side.split_once(':').unwrap_or((side, ""));
            let Some(s) = names.iter().position(|n| *n == source) else {
                return Err(problem(
                    format!("{}: `{source}` is not a source of the spec", place(row, i)),
                    crate::suggest::did_you_mean(source, names.iter().copied())
                        .map(|n| format!("did you mean `{n}`?"))
                        .or_else(|| Some(format!("the sources are {}", names.join(", ")))),
                ));
            };
            if !ids[s].contains(id) {
                return Err(problem(
                    format!("{}: source `{source}` has no record `{id}`", place(row, i)),
                    Some(
                        "records are named as `reconcile review --json` and `reconcile plan` \
                         name them"
                            .into(),
                    ),
                ));
            }
        }
    }
    let now = crate::time::now_rfc3339();
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|r| Row {
            time: r.time.or_else(|| Some(now.clone())),
            ..r
        })
        .collect();
    labels::append(&target.file, &rows)
        .map_err(|e| problem(format!("cannot write {}: {e}", target.file.display()), None))?;
    print(&summary(spec, target, &rows, ""))?;
    Ok(ExitCode::SUCCESS)
}

/// Decisions written as JSON: an array of `{"left", "right", "label"}` (and an optional
/// `time`), or the document `review --json` prints, whose pairs left with a `null` label are
/// undecided and skipped.
fn from_json(text: &str, from: &Path) -> Result<Vec<Row>> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        problem(
            format!("{} is not valid JSON: {e}", from.display()),
            Some("write an array of {\"left\": \"crm:108\", \"right\": \"sheet:15\", \"label\": \"same\"}".into()),
        )
    })?;
    let (items, undecided_allowed) = match &doc {
        serde_json::Value::Array(items) => (items, false),
        serde_json::Value::Object(o) => match o.get("pairs") {
            Some(serde_json::Value::Array(items)) => (items, true),
            _ => {
                return Err(problem(
                    format!("{} has no `pairs` list", from.display()),
                    Some(
                        "give an array of decisions, or what `reconcile review --json` printed"
                            .into(),
                    ),
                ));
            }
        },
        _ => {
            return Err(problem(
                format!("{} holds neither an array nor an object", from.display()),
                None,
            ));
        }
    };
    let mut rows = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{}, decision {}", from.display(), i + 1);
        let text = |key: &str| item.get(key).and_then(serde_json::Value::as_str);
        let label = match item.get("label") {
            None | Some(serde_json::Value::Null) if undecided_allowed => continue,
            _ => text("label").and_then(Label::parse).ok_or_else(|| {
                problem(
                    format!("{at}: `label` is not `same`, `distinct` or `unsure`"),
                    Some(
                        "write \"label\": \"same\", \"distinct\" or \"unsure\" (a `null` label \
                         is skipped only in what `reconcile review --json` printed)"
                            .into(),
                    ),
                )
            })?,
        };
        let side = |key: &str| -> Result<String> {
            match text(key).map(str::trim) {
                Some(s) if s.contains(':') => Ok(s.to_string()),
                _ => Err(problem(
                    format!("{at}: `{key}` does not name a record"),
                    Some("write records as `source:id`, e.g. `crm:108`".into()),
                )),
            }
        };
        let (left, right) = (side("left")?, side("right")?);
        if left == right {
            return Err(problem(
                format!("{at}: `{left}` is paired with itself"),
                None,
            ));
        }
        let time = match text("time") {
            Some(t) if labels::is_utc_time(t) => Some(t.to_string()),
            Some(t) => {
                return Err(problem(
                    format!("{at}: the time `{t}` is not an RFC 3339 time in UTC"),
                    Some("write it as `2026-03-02T09:14:00Z`, or leave it out".into()),
                ));
            }
            None => None,
        };
        rows.push(Row {
            left,
            right,
            label,
            time,
            line: 0,
        });
    }
    Ok(rows)
}
