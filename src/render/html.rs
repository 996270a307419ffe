//! The plan as one self-contained HTML file (`reconcile plan --html report.html`): the summary,
//! every change with its field diffs, the provenance of each value and, where the members
//! disagreed, the rule that chose and the values that lost; every cluster with the scores of
//! its links and what each comparison contributed, the pairs left for review, the excluded
//! records with their rules, the source values left out as invalid and the kept rows (when
//! there are any). Records are named beside their ids. Searchable and sortable, with inline styles and
//! script only: the page loads nothing, and its Content-Security-Policy forbids it to.
//!
//! The tables are written out here, not built by the script, so the report reads the same
//! with scripting off and its counts can be checked in the markup.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::matching::{Member, Score};
use crate::merge::SourceRef;
use crate::pipeline::Resolved;
use crate::plan::{Action, Change, Plan, Reason};
use crate::render::words::count;
use crate::spec::compiled::Compiled;
use crate::value::Value;

/// Rows each table shows before "Show all": a plan of 100,000 rows would otherwise ask the
/// browser to lay out every one of them before showing anything.
const FIRST_ROWS: usize = 500;

/// The opening `<tr>` of the `i`-th row of a table, with its classes.
fn tr(i: usize, class: &str) -> String {
    let later = if i >= FIRST_ROWS { "later" } else { "" };
    let classes = [class, later]
        .iter()
        .filter(|c| !c.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if classes.is_empty() {
        "<tr>".to_string()
    } else {
        format!("<tr class=\"{classes}\">")
    }
}

/// Renders the report of one spec's plan.
pub fn render(spec: &Compiled, resolved: &Resolved, plan: &Plan) -> String {
    let r = Report {
        spec,
        resolved,
        plan,
        prefix: String::new(),
        heading: "h2",
    };
    let mut out = String::with_capacity(64 * 1024 + plan.changes.len() * 600);
    r.page(&mut out);
    out
}

/// Renders one report of a folder's plans (parents first): the verdict for all of them, then
/// a part per resource holding what the report of its spec alone holds. One search box
/// filters every table.
pub fn render_many(specs: &[Compiled], resolved: &[Resolved], plans: &[Plan]) -> String {
    let rows: usize = plans.iter().map(|p| p.changes.len()).sum();
    let mut out = String::with_capacity(64 * 1024 + rows * 600);
    let title = format!(
        "reconcile plan: {} resources ({})",
        plans.len(),
        plans
            .iter()
            .map(|p| p.resource.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    head(&mut out, &title);
    let (mut create, mut update, mut delete) = (0, 0, 0);
    for p in plans {
        let s = p.summary();
        create += s.create;
        update += s.update;
        delete += s.delete;
    }
    let verdict = if plans.iter().any(Plan::has_changes) {
        format!(
            "Plan (all resources): {} to add, {} to change, {} to destroy.",
            count(create),
            count(update),
            count(delete)
        )
    } else {
        "No changes. The database matches the specs.".to_string()
    };
    let _ = write!(
        out,
        "<header><h1>Plan for {} resources</h1>\n<p class=\"verdict\" id=\"verdict\">{}</p>\n{SEARCH}<nav>",
        plans.len(),
        esc(&verdict)
    );
    for (i, p) in plans.iter().enumerate() {
        if i > 0 {
            out.push_str(" · ");
        }
        let _ = write!(
            out,
            "<a href=\"#{}\">{}</a>",
            esc(&resource_id(&p.resource)),
            esc(&p.resource)
        );
    }
    out.push_str("</nav>\n</header>\n<main>\n");
    for ((spec, resolved), plan) in specs.iter().zip(resolved).zip(plans) {
        let r = Report {
            spec,
            resolved,
            plan,
            prefix: format!("{}-", resource_id(&plan.resource)),
            heading: "h3",
        };
        let _ = writeln!(
            out,
            "<article class=\"resource\" id=\"{}\"><h2>{}</h2>",
            esc(&resource_id(&plan.resource)),
            r.heading_text()
        );
        r.overview(&mut out, false);
        r.nav(&mut out);
        r.sections(&mut out);
        out.push_str("</article>\n");
    }
    foot(&mut out);
    out
}

/// The id of a resource's part of a folder's report.
fn resource_id(resource: &str) -> String {
    format!("resource-{resource}")
}

struct Report<'a> {
    spec: &'a Compiled,
    resolved: &'a Resolved,
    plan: &'a Plan,
    /// Put before each section's id: empty for one spec; the resource's for a folder, whose
    /// report holds the sections of every resource.
    prefix: String,
    /// The heading of each section: `h2`, or `h3` under a resource's `h2` in a folder.
    heading: &'static str,
}

/// The document's head and the opening of its body.
fn head(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(title)
    );
}

/// The end of the document, with its script.
fn foot(out: &mut String) {
    let _ = write!(
        out,
        "</main>\n<script>var FIRST_ROWS = {FIRST_ROWS};{SCRIPT}</script>\n</body>\n</html>\n"
    );
}

/// The search box, one per report.
const SEARCH: &str = "<label class=\"search\">Search <input id=\"search\" type=\"search\" \
     placeholder=\"address, source record, value, rule…\" autocomplete=\"off\"></label>\n";

/// Escapes text for HTML content and attribute values; control and bidi characters are
/// shown escaped, as on a terminal.
fn esc(s: &str) -> String {
    let s = super::safe::term_lines(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Text(s) => s.clone(),
        other => other.to_string(),
    }
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::NoOp => "no-op",
    }
}

fn reason_words(c: &Change) -> String {
    match &c.reason {
        Reason::New => "new record".into(),
        Reason::Vanished => "the row was deleted outside reconcile".into(),
        Reason::SourceChanged => "the sources changed".into(),
        Reason::NewColumn => "new column to fill".into(),
        Reason::Drift { .. } => "changed outside reconcile".into(),
        Reason::AdoptByKey => "adopts an existing row with the same key".into(),
        Reason::AdoptByMatch { score } => {
            format!("adopts an existing row that matches (score {score:.3})")
        }
        Reason::UpToDate => "up to date".into(),
        Reason::Missing => "no source holds this record any more".into(),
        Reason::MissingSoft => "no source holds this record any more; marked deleted".into(),
        Reason::Restored => "restored: its record is back in the sources".into(),
    }
}

impl Report<'_> {
    fn member_ref(&self, m: Member) -> SourceRef {
        SourceRef {
            source: self.spec.sources[m.source].name.clone(),
            id: self.resolved.kept[m.source][m.index].id.clone(),
        }
    }

    /// `production:7 “Maltos Sun City”`: the record and what names it (see
    /// [`crate::review::record_name`]).
    fn member_label(&self, m: Member) -> String {
        let record = &self.resolved.kept[m.source][m.index];
        let name = crate::review::record_name(self.spec, &record.values).unwrap_or_default();
        let r = self.member_ref(m);
        if name.is_empty() {
            format!("<code>{}</code>", esc(&r.to_string()))
        } else {
            format!(
                "<code>{}</code> <span class=\"name\">{}</span>",
                esc(&r.to_string()),
                esc(&name)
            )
        }
    }

    fn page(&self, out: &mut String) {
        let plan = self.plan;
        let title = format!("reconcile plan: {} → table {}", plan.resource, plan.table);
        head(out, &title);
        let _ = writeln!(out, "<header><h1>Plan for {}</h1>", self.heading_text());
        self.overview(out, true);
        out.push_str(SEARCH);
        self.nav(out);
        out.push_str("</header>\n<main>\n");
        self.sections(out);
        foot(out);
    }

    /// `<code>customers</code> → table <code>customers</code>`.
    fn heading_text(&self) -> String {
        format!(
            "<code>{}</code> → table <code>{}</code>",
            esc(&self.plan.resource),
            esc(&self.plan.table)
        )
    }

    /// The verdict, the counts, and the table to create; `main` when it is the report's own
    /// verdict (the one the page's `#verdict` names).
    fn overview(&self, out: &mut String, main: bool) {
        let plan = self.plan;
        let s = plan.summary();
        let verdict = if plan.has_changes() {
            format!(
                "Plan: {} to add, {} to change, {} to destroy{}.",
                count(s.create),
                count(s.update),
                count(s.delete),
                match s.add_column {
                    0 => String::new(),
                    1 => ", 1 column to add".to_string(),
                    n => format!(", {} columns to add", count(n)),
                }
            )
        } else {
            "No changes. The database matches the spec.".to_string()
        };
        let _ = write!(
            out,
            "<p class=\"verdict\"{}>{}</p>\n<ul class=\"cards\">\n",
            if main { " id=\"verdict\"" } else { "" },
            esc(&verdict)
        );
        let conflicts: usize = plan.changes.iter().map(|c| c.conflicts.len()).sum();
        let cards = [
            ("create", "to add", s.create),
            ("update", "to change", s.update),
            ("delete", "to destroy", s.delete),
            ("no-op", "up to date", s.no_op),
            ("excluded", "excluded", plan.excluded.len()),
            ("review", "to review", plan.review.len()),
            ("clusters", "clusters", self.resolved.matches.clusters.len()),
            ("invalid", "invalid values", plan.invalid.len()),
            ("conflicts", "fields in conflict", conflicts),
        ];
        // The invalid-values and conflict cards only when there are some, as in the text
        // plan.
        for (kind, words, n) in cards
            .into_iter()
            .filter(|(kind, _, n)| !matches!(*kind, "invalid" | "conflicts") || *n > 0)
        {
            let _ = writeln!(
                out,
                "<li class=\"card {kind}\"><span class=\"count\" data-kind=\"{kind}\" data-count=\"{n}\">{}</span> {words}</li>",
                count(n)
            );
        }
        out.push_str("</ul>\n");
        if plan.create_table {
            let cols: Vec<&str> = plan.fields.iter().map(|(_, c)| c.as_str()).collect();
            let _ = writeln!(
                out,
                "<p>The table <code>{}</code> will be created with the columns {}.</p>",
                esc(&plan.table),
                esc(&cols.join(", "))
            );
        }
        structure(plan, out, &self.id("schema"));
    }

    /// Links to the sections.
    fn nav(&self, out: &mut String) {
        let plan = self.plan;
        let link =
            |id: &str, words: &str| format!("<a href=\"#{}\">{words}</a>", esc(&self.id(id)));
        let _ = write!(
            out,
            "<nav>{} · {} · {} · {}",
            link("changes", "Changes"),
            link("clusters", "Clusters"),
            link("review", "To review"),
            link("excluded", "Excluded")
        );
        if !plan.invalid.is_empty() {
            let _ = write!(out, " · {}", link("invalid", "Invalid values"));
        }
        if !plan.overrides.is_empty() {
            let _ = write!(
                out,
                " · {}",
                link("overrides", "Changed by same / distinct")
            );
        }
        if !plan.missing.is_empty() {
            let _ = write!(out, " · {}", link("kept", "Kept"));
        }
        out.push_str("</nav>\n");
    }

    /// Every section of the plan.
    fn sections(&self, out: &mut String) {
        let plan = self.plan;
        self.changes(out);
        self.clusters(out);
        self.review(out);
        if !plan.overrides.is_empty() {
            self.overrides(out);
        }
        self.excluded(out);
        if !plan.invalid.is_empty() {
            self.invalid(out);
        }
        if !plan.missing.is_empty() {
            self.kept(out);
        }
    }

    /// A section's id in this report.
    fn id(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn section_start(
        &self,
        out: &mut String,
        id: &str,
        title: &str,
        total: usize,
        heads: &[(&str, bool)],
    ) {
        let id = esc(&self.id(id));
        let h = self.heading;
        let _ = writeln!(
            out,
            "<section id=\"{id}\"><{h}>{title} <span class=\"shown\" data-total=\"{total}\">{} of {}</span></{h}>",
            count(total.min(FIRST_ROWS)),
            count(total)
        );
        if total == 0 {
            let _ = writeln!(out, "<p class=\"none\">None.</p>");
        }
        let _ = write!(out, "<table data-table=\"{id}\"><thead><tr>");
        for (h, numeric) in heads {
            let _ = write!(
                out,
                "<th data-sort=\"{}\" tabindex=\"0\">{h}</th>",
                if *numeric { "number" } else { "text" }
            );
        }
        out.push_str("</tr></thead>\n<tbody>\n");
    }

    fn section_end(&self, out: &mut String, id: &str, total: usize) {
        out.push_str("</tbody></table>");
        if total > FIRST_ROWS {
            let _ = write!(
                out,
                "<p><button type=\"button\" class=\"show-all\" data-for=\"{}\">Show all {} rows</button> \
                 <small>(the search looks through all of them)</small></p>",
                esc(&self.id(id)),
                count(total)
            );
        }
        out.push_str("</section>\n");
    }

    fn changes(&self, out: &mut String) {
        let plan = self.plan;
        let rows: Vec<&Change> = {
            // Grouped by action, as the text plan is; unchanged records last.
            let mut v: Vec<&Change> = plan.changes.iter().collect();
            v.sort_by_key(|c| match c.action {
                Action::Create => 0,
                Action::Update => 1,
                Action::Delete => 2,
                Action::NoOp => 3,
            });
            v
        };
        self.section_start(
            out,
            "changes",
            "Changes",
            rows.len(),
            &[
                ("Action", false),
                ("Address", false),
                (
                    "Fields (values from the first source record unless marked)",
                    false,
                ),
                ("Sources", true),
            ],
        );
        let total = rows.len();
        for (i, c) in rows.into_iter().enumerate() {
            let address = plan.address(&c.address);
            let action = action_word(c.action);
            let _ = write!(
                out,
                "{}<td><span class=\"badge {action}\">{action}</span><br><small>{}</small></td><td><code>{}</code></td><td>",
                tr(i, action),
                esc(&reason_words(c)),
                esc(&address)
            );
            self.field_table(out, c);
            let _ = write!(out, "</td><td data-value=\"{}\">", c.members.len());
            for (i, m) in c.members.iter().enumerate() {
                if i > 0 {
                    out.push_str("<br>");
                }
                out.push_str(&labelled(&m.to_string(), c.name_of(i)));
            }
            out.push_str("</td></tr>\n");
        }
        self.section_end(out, "changes", total);
    }

    /// Every field of a change: before and after where they differ, the value alone where
    /// not, and the source record each value came from.
    fn field_table(&self, out: &mut String, c: &Change) {
        let plan = self.plan;
        let after = c.after.as_deref().unwrap_or_default();
        let before = c.before.as_deref();
        out.push_str("<table class=\"fields\">");
        let mut unchanged = 0;
        for (f, (name, _)) in plan.fields.iter().enumerate() {
            let a = after.get(f).unwrap_or(&Value::Null);
            let b = before.and_then(|b| b.get(f));
            let masked = plan.sensitive.get(f) == Some(&true);
            let shown = |v: &Value| {
                if masked && !v.is_null() {
                    format!("<span class=\"v\">{}</span>", super::safe::MASK)
                } else {
                    shown(v)
                }
            };
            let changed = c.changed.contains(&f);
            if c.action == Action::Create && a.is_null() {
                continue;
            }
            if !changed && c.action != Action::Create {
                unchanged += 1;
                if c.action != Action::NoOp {
                    continue;
                }
            }
            // As in the text plan: a value from the first (highest-priority) record goes
            // unmarked; one another record supplied names it.
            let from = c.source_of(f).filter(|p| Some(*p) != c.members.first());
            let mut prov = from
                .map(|p| {
                    format!(
                        "<span class=\"from\">from <code>{}</code></span>",
                        esc(&p.to_string())
                    )
                })
                .unwrap_or_default();
            // Where the members disagreed: the rule that chose, and every value that lost.
            if let Some(x) = c.conflict(f) {
                let rule = super::decision(x, |i| {
                    plan.fields.get(i).map(|f| f.0.clone()).unwrap_or_default()
                });
                let _ = write!(
                    prov,
                    "<div class=\"conflict\">by <b>{}</b>; lost:",
                    esc(&rule)
                );
                for l in &x.lost {
                    let member = c.members.get(l.member as usize);
                    let _ = write!(
                        prov,
                        "<br><s>{}</s> from {}",
                        shown(&l.value),
                        member.map_or_else(String::new, |m| labelled(
                            &m.to_string(),
                            c.name_of(l.member as usize)
                        ))
                    );
                }
                prov.push_str("</div>");
            }
            let value = match (c.action, b) {
                (Action::Update, Some(b)) if changed => {
                    format!("<del>{}</del> → <ins>{}</ins>", shown(b), shown(a))
                }
                (Action::Create, _) => format!("<ins>{}</ins>", shown(a)),
                _ => shown(a),
            };
            let _ = write!(
                out,
                "<tr><th>{}</th><td>{value}</td><td>{prov}</td></tr>",
                esc(name)
            );
        }
        if c.action == Action::Update && unchanged > 0 {
            let _ = write!(
                out,
                "<tr><td colspan=\"3\" class=\"hidden-count\">{unchanged} unchanged {}</td></tr>",
                if unchanged == 1 { "field" } else { "fields" }
            );
        }
        out.push_str("</table>");
    }

    fn clusters(&self, out: &mut String) {
        let plan = self.plan;
        let matches = &self.resolved.matches;
        let address_of: HashMap<&[SourceRef], &str> = plan
            .changes
            .iter()
            .map(|c| (c.members.as_slice(), c.address.as_str()))
            .collect();
        let field_names: Vec<&str> = self.spec.fields.iter().map(|f| f.name.as_str()).collect();
        // A record that joined nothing has no evidence to show; such clusters are counted,
        // not listed, so the links stand out (and a large report stays a manageable size).
        let linked: Vec<(usize, &crate::matching::Cluster)> = matches
            .clusters
            .iter()
            .enumerate()
            .filter(|(_, c)| c.members.len() > 1)
            .collect();
        let singles = matches.clusters.len() - linked.len();
        let title = if singles > 0 {
            format!(
                "Clusters of several records <small>({} {} of one record not listed)</small>",
                count(singles),
                if singles == 1 { "cluster" } else { "clusters" }
            )
        } else {
            "Clusters of several records".to_string()
        };
        self.section_start(
            out,
            "clusters",
            &title,
            linked.len(),
            &[
                ("Address", false),
                ("Members", true),
                ("Weakest link", true),
                ("Links and what each comparison contributed", false),
            ],
        );
        let total = linked.len();
        for (i, (ci, cluster)) in linked.into_iter().enumerate() {
            let desired = self.resolved.desired.iter().find(|d| d.cluster == ci);
            let address = desired
                .and_then(|d| address_of.get(d.members.as_slice()))
                .map(|a| plan.address(a))
                .unwrap_or_default();
            let weakest = cluster
                .links
                .iter()
                .map(|l| l.score.probability)
                .min_by(f64::total_cmp);
            let _ = write!(
                out,
                "{}<td><code>{}</code></td><td data-value=\"{}\">",
                tr(i, ""),
                esc(&address),
                cluster.members.len()
            );
            for (i, &m) in cluster.members.iter().enumerate() {
                if i > 0 {
                    out.push_str("<br>");
                }
                out.push_str(&self.member_label(m));
            }
            let _ = write!(
                out,
                "</td><td data-value=\"{}\">{}</td><td>",
                weakest.map_or(2.0, |w| w),
                weakest.map_or("—".to_string(), |w| format!("{w:.3}"))
            );
            for link in &cluster.links {
                let _ = write!(
                    out,
                    "<div class=\"link\"><code>{}</code> joined <code>{}</code>, score <b>{:.3}</b>{}</div>",
                    esc(&self.member_ref(link.record).to_string()),
                    esc(&self.member_ref(link.to).to_string()),
                    link.score.probability,
                    if link.forced {
                        " (linked by <code>same</code> in the spec)"
                    } else {
                        ""
                    }
                );
                terms(out, &link.score, &field_names);
            }
            out.push_str("</td></tr>\n");
        }
        self.section_end(out, "clusters", total);
    }

    fn review(&self, out: &mut String) {
        let field_names: Vec<&str> = self.spec.fields.iter().map(|f| f.name.as_str()).collect();
        let review = &self.resolved.matches.review;
        let addresses = crate::plan::cluster_addresses(self.resolved, self.plan);
        let reasons: Vec<String> = crate::plan::review_items(self.spec, self.resolved, |c| {
            addresses.get(c).cloned().flatten()
        })
        .iter()
        .map(|r| super::review_reason(&r.reason, |a| self.plan.address(a)))
        .collect();
        self.section_start(
            out,
            "review",
            "To review (scored between review and threshold, not linked)",
            review.len(),
            &[
                ("Record", false),
                ("Closest to", false),
                ("Score", true),
                ("Why not linked, and the comparisons", false),
            ],
        );
        for (i, r) in review.iter().enumerate() {
            let _ = write!(
                out,
                "{}<td>{}</td><td>{}</td><td data-value=\"{}\">{:.3}</td><td>{}",
                tr(i, ""),
                self.member_label(r.record),
                self.member_label(r.to),
                r.score.probability,
                r.score.probability,
                esc(&reasons.get(i).cloned().unwrap_or_default())
            );
            terms(out, &r.score, &field_names);
            out.push_str("</td></tr>\n");
        }
        self.section_end(out, "review", review.len());
    }

    /// What each `same` / `distinct` pair changed, against matching without any.
    fn overrides(&self, out: &mut String) {
        let notes = &self.plan.overrides;
        self.section_start(
            out,
            "overrides",
            "Changed by <code>same</code> / <code>distinct</code>",
            notes.len(),
            &[("Record", false), ("Line", true), ("What changed", false)],
        );
        for (i, n) in notes.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}<td><code>{}</code></td><td data-value=\"{}\">{}</td><td>{}</td></tr>",
                tr(i, ""),
                esc(&n.record.to_string()),
                n.origin.line,
                n.origin.line,
                esc(&super::override_note(n, |a| self.plan.address(a)))
            );
        }
        self.section_end(out, "overrides", notes.len());
    }

    fn excluded(&self, out: &mut String) {
        let excluded = &self.plan.excluded;
        self.section_start(
            out,
            "excluded",
            "Excluded",
            excluded.len(),
            &[
                ("Source", false),
                ("Record", false),
                ("Name", false),
                ("Rule", false),
            ],
        );
        for (i, e) in excluded.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}<td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                tr(i, ""),
                esc(&e.record.source),
                esc(&e.record.id),
                esc(e.name.as_deref().unwrap_or_default()),
                esc(&e.rule)
            );
        }
        self.section_end(out, "excluded", excluded.len());
    }

    /// Managed rows no source holds any more, kept (`on_missing: keep`).
    fn kept(&self, out: &mut String) {
        let plan = self.plan;
        self.section_start(
            out,
            "kept",
            "Kept: managed, but no longer in any source",
            plan.missing.len(),
            &[("Address", false), ("Row", false), ("Name", false)],
        );
        for (i, m) in plan.missing.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}<td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                tr(i, ""),
                esc(&plan.address(&m.address)),
                esc(&m.row_key),
                esc(m.name.as_deref().unwrap_or_default())
            );
        }
        self.section_end(out, "kept", plan.missing.len());
    }

    /// Source values that failed their field type, left out of the plan.
    fn invalid(&self, out: &mut String) {
        let plan = self.plan;
        self.section_start(
            out,
            "invalid",
            "Invalid values (left out)",
            plan.invalid.len(),
            &[
                ("Source", false),
                ("Record", false),
                ("Row", false),
                ("Field", false),
                ("Value", false),
                ("Reason", false),
            ],
        );
        for (i, v) in plan.invalid.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}<td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                tr(i, ""),
                esc(&v.record.source),
                esc(&v.record.id),
                esc(&v.row),
                esc(plan.fields.get(v.field).map_or("?", |f| f.0.as_str())),
                esc(&v.value),
                esc(&v.reason)
            );
        }
        self.section_end(out, "invalid", plan.invalid.len());
    }
}

/// `production:7 Maltos Sun City`: a record's id and what names it, when anything does.
/// What the plan does to the table's structure, and its notes on the constraints: the
/// columns to add (before the rows that fill them), a new table's constraints, the columns
/// left alone.
fn structure(plan: &Plan, out: &mut String, id: &str) {
    use super::schema;
    let mut items: Vec<String> = Vec::new();
    for line in schema::constraints(plan) {
        items.push(format!("with {}", esc(&line)));
    }
    for a in &plan.schema.add_columns {
        items.push(format!("<b>+</b> {}", esc(&schema::add_column(plan, a))));
    }
    if !plan.schema.add_columns.is_empty() {
        items.push(esc(schema::NULLABLE));
        items.extend(schema::unmanaged(plan).map(|l| esc(&l)));
    }
    items.extend(
        plan.schema
            .notes
            .iter()
            .map(|n| format!("Note: {}", esc(&schema::note(plan, n)))),
    );
    if items.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<ul class=\"schema\" id=\"{}\"><li>{}</li></ul>",
        esc(id),
        items.join("</li><li>")
    );
}

fn labelled(reference: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!(
            "<code>{}</code> <span class=\"name\">{}</span>",
            esc(reference),
            esc(name)
        ),
        None => format!("<code>{}</code>", esc(reference)),
    }
}

/// A value as shown in a cell: empty values say so, long text keeps its line breaks.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => "<span class=\"null\">empty</span>".into(),
        other => format!("<span class=\"v\">{}</span>", esc(&value_text(other))),
    }
}

/// What each comparison contributed to a score, in bits of evidence, with a bar.
fn terms(out: &mut String, score: &Score, fields: &[&str]) {
    if score.terms.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<table class=\"terms\"><tr><th>comparison</th><th>level</th><th>similarity</th><th>evidence</th></tr>\
         <tr><td>prior</td><td></td><td></td><td class=\"bits\">{:+.2} bits</td></tr>",
        score.prior_bits
    );
    for t in &score.terms {
        let name = fields.get(t.field).copied().unwrap_or("?");
        let width = (t.bits.abs() * 4.0).min(80.0);
        let _ = write!(
            out,
            "<tr><td>{} <small>({})</small></td><td>{}</td><td>{}</td><td class=\"bits\">{:+.2} bits \
             <span class=\"bar {}\" style=\"width:{width:.0}px\"></span></td></tr>",
            esc(name),
            t.method.name(),
            esc(&t.label),
            t.similarity.map_or(String::new(), |s| format!("{s:.3}")),
            t.bits,
            if t.bits >= 0.0 { "for" } else { "against" }
        );
    }
    out.push_str("</table>");
}

const STYLE: &str = r#"
:root { --fg:#1d2330; --muted:#5b6475; --line:#dde2ea; --bg:#fff; --head:#f5f7fa;
  --create:#17803d; --update:#a86400; --delete:#b42318; --noop:#5b6475; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); margin: 0; }
header { position: sticky; top: 0; background: var(--bg); border-bottom: 1px solid var(--line);
  padding: 12px 24px; z-index: 1; }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 22px 0 8px; }
h2 .shown, h3 .shown { font-weight: normal; color: var(--muted); font-size: 13px; margin-left: 8px; }
article.resource { border-top: 2px solid var(--line); margin-top: 24px; }
article.resource > h2 { font-size: 17px; }
main { padding: 0 24px 48px; }
section { scroll-margin-top: 190px; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.verdict { font-weight: 600; margin: 4px 0 8px; }
.cards { list-style: none; display: flex; flex-wrap: wrap; gap: 8px; padding: 0; margin: 0 0 8px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 4px 10px; color: var(--muted); }
.card .count { font-weight: 700; color: var(--fg); }
.card.create .count { color: var(--create); } .card.update .count { color: var(--update); }
.card.delete .count { color: var(--delete); }
.search input { width: 28em; max-width: 100%; padding: 4px 8px; margin: 0 12px 0 6px; }
nav { display: inline; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
thead th { background: var(--head); cursor: pointer; user-select: none; white-space: nowrap; }
thead th[aria-sort=ascending]::after { content: " ▲"; } thead th[aria-sort=descending]::after { content: " ▼"; }
table.fields, table.terms { width: auto; margin: 2px 0 6px; }
table.fields th, table.fields td, table.terms th, table.terms td { border: 0; padding: 1px 8px 1px 0; font-weight: normal; }
table.fields th { color: var(--muted); }
table.terms { font-size: 12.5px; } table.terms th { color: var(--muted); }
.bits { white-space: nowrap; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; height: 8px; vertical-align: middle; margin-left: 4px; }
.bar.for { background: var(--create); } .bar.against { background: var(--delete); }
.v { white-space: pre-wrap; } .null { color: var(--muted); font-style: italic; }
del { color: var(--delete); } ins { color: var(--create); text-decoration: none; }
.from, small, .hidden-count, .none { color: var(--muted); }
.badge { font-weight: 600; } .badge.create { color: var(--create); } .badge.update { color: var(--update); }
.badge.delete { color: var(--delete); } .badge.no-op { color: var(--noop); }
.name { color: var(--muted); }
.conflict { color: var(--muted); font-size: 12.5px; } .conflict s { color: var(--delete); }
.link { margin-top: 4px; }
tr.later { display: none; }
table.all tr.later, table.searching tr.later { display: table-row; }
tr.hidden { display: none !important; }
.show-all { font: inherit; padding: 3px 10px; cursor: pointer; }
"#;

/// Search filters the rows of every table and updates each "shown" count; a click on a
/// column head sorts by it (numbers by their `data-value`).
const SCRIPT: &str = r#"
"use strict";
(function () {
  var tables = Array.prototype.slice.call(document.querySelectorAll("table[data-table]"));
  var rows = null;
  // The text of every row, read on the first search rather than when the page loads.
  function index() {
    if (rows === null) {
      rows = tables.map(function (t) {
        return Array.prototype.slice.call(t.tBodies[0].rows).map(function (tr) {
          return { tr: tr, text: tr.textContent.toLowerCase() };
        });
      });
    }
    return rows;
  }
  function label(t) { return t.closest("section").querySelector(".shown"); }
  function says(t, shown) {
    var total = Number(label(t).getAttribute("data-total"));
    label(t).textContent = shown.toLocaleString("en-US") + " of " + total.toLocaleString("en-US");
    label(t).setAttribute("data-shown", String(shown));
  }
  function visible(t) {
    return Array.prototype.filter.call(t.tBodies[0].rows, function (tr) {
      return getComputedStyle(tr).display !== "none";
    }).length;
  }
  function filter() {
    var words = document.getElementById("search").value.toLowerCase().split(/\s+/).filter(Boolean);
    index().forEach(function (list, i) {
      var t = tables[i];
      t.classList.toggle("searching", words.length > 0);
      list.forEach(function (r) {
        var hit = words.every(function (w) { return r.text.indexOf(w) !== -1; });
        r.tr.classList.toggle("hidden", !hit);
      });
      says(t, visible(t));
    });
  }
  document.getElementById("search").addEventListener("input", filter);
  document.querySelectorAll("button.show-all").forEach(function (b) {
    b.addEventListener("click", function () {
      var t = document.querySelector("table[data-table=\"" + b.getAttribute("data-for") + "\"]");
      t.classList.add("all");
      says(t, visible(t));
      b.parentNode.removeChild(b);
    });
  });
  function sortBy(th) {
    var table = th.closest("table"), i = th.cellIndex;
    var numeric = th.getAttribute("data-sort") === "number";
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var body = table.tBodies[0];
    var list = Array.prototype.slice.call(body.rows);
    function key(tr) {
      var cell = tr.cells[i];
      return numeric ? parseFloat(cell.getAttribute("data-value")) : cell.textContent.trim().toLowerCase();
    }
    list.sort(function (a, b) {
      var x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    // Sorting brings rows forward, so which rows come "later" is decided again.
    list.forEach(function (tr, n) {
      tr.classList.toggle("later", n >= FIRST_ROWS);
      body.appendChild(tr);
    });
  }
  document.querySelectorAll("thead th").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); });
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sortBy(th); } });
  });
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_break_out() {
        assert_eq!(
            esc("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
