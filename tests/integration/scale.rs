//! Correctness at scale, at a size that runs in seconds: generated sources (the benchmark's
//! generator, same seed) go through plan → apply → plan, and the plan does not depend on how
//! many threads matched it.

use crate::common::Workspace;

#[allow(dead_code)]
#[path = "../../examples/generate.rs"]
mod generate;

const RECORDS: usize = 2_500;

fn generated() -> Workspace {
    let ws = Workspace::empty();
    generate::write(RECORDS, 7, 0.7, ws.dir.path()).expect("write generated sources");
    ws
}

#[test]
fn generated_sources_plan_apply_then_plan_is_empty() {
    let ws = generated();
    let plan = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    let creates = plan["summary"]["create"].as_u64().expect("a count");
    // Most of b's records are a's again, so there are far fewer golden records than rows.
    assert!(
        creates > RECORDS as u64 && creates < 2 * RECORDS as u64,
        "{creates}"
    );

    ws.run(&["apply", "-f", "spec.yaml", "--auto-approve"]).ok();
    let rows = crate::common::query(&ws.path("reconcile.db"), "SELECT COUNT(*) FROM businesses");
    assert_eq!(rows[0][0].as_deref(), Some(creates.to_string().as_str()));

    let again = ws.run(&["plan", "-f", "spec.yaml", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
}

#[test]
fn plan_is_the_same_on_one_thread_and_on_several() {
    let ws = generated();
    let on = |threads: &str| {
        ws.run_with_env(
            &["plan", "-f", "spec.yaml", "--json"],
            &[("RAYON_NUM_THREADS", Some(threads))],
        )
        .ok()
        .stdout
    };
    let one = on("1");
    assert!(one.contains("\"create\""), "{one}");
    assert_eq!(one, on("3"));
}
